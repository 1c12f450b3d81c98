import { createHash } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  standardWebhookVerifier,
  verifyMetaHandshake,
  verifyMetaSignature,
  verifyShopifyWebhook,
  verifyStaticBearer,
  verifyStripeWebhook,
  WebhookError,
  type VerifiedWebhook,
  type WebhookRequest,
} from '@latchkey/verify/webhooks';
import type { Logger } from '../logging/logger.js';
import type { WebhookDelivery } from './delivery.js';
import type { WebhookEndpoint, WebhookSettings } from './settings.js';
import type { WebhookEventStore } from './store.js';

/** Where the endpoints are mounted. */
export const WEBHOOKS_PREFIX = '/webhooks';

/** Headers never stored with an event. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** Verifies a delivery and names its delivery key; throws {@link WebhookError}. */
type Authenticator = (request: WebhookRequest) => Promise<{ verified: VerifiedWebhook; deliveryId: string | null }>;

function headerText(request: WebhookRequest, name: string): string | null {
  const value = (request.headers as Readonly<Record<string, string | readonly string[] | undefined>>)[name];
  return typeof value === 'string' && value !== '' && value.length <= 255 ? value : null;
}

/** The authenticator of one endpoint: the `@latchkey/verify` webhook verifier of its scheme. */
function authenticator(endpoint: WebhookEndpoint): Authenticator {
  const scheme = endpoint.scheme;
  switch (scheme.kind) {
    case 'meta': {
      const secret = scheme.appSecret;
      return async (request) => {
        if (secret === null) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MISSING', 'no app secret is configured for signed deliveries');
        return { verified: verifyMetaSignature(request, { secrets: secret }), deliveryId: null };
      };
    }
    case 'shopify':
      // The HMAC covers the body only: `X-Shopify-Webhook-Id` is not signed, so a captured delivery sent
      // again under a new id must still be a duplicate. The key is the body's digest.
      return async (request) => ({ verified: verifyShopifyWebhook(request, { secrets: scheme.secret }), deliveryId: null });
    case 'stripe':
      return async (request) => {
        const verified = verifyStripeWebhook(request, { secrets: scheme.secret });
        let id: unknown;
        try {
          id = verified.json<{ id?: unknown }>().id;
        } catch {
          id = undefined;
        }
        return { verified, deliveryId: typeof id === 'string' && id !== '' && id.length <= 255 ? id : null };
      };
    case 'bearer':
      return async (request) => {
        verifyStaticBearer(request.headers, { tokens: scheme.token });
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body as string);
        const verified: VerifiedWebhook = { body, json: <T>() => JSON.parse(body.toString('utf8')) as T };
        return { verified, deliveryId: headerText(request, 'idempotency-key') };
      };
    case 'standard': {
      // Duplicates are found by the stored delivery key, not by a replay store: a retried delivery answers 200.
      const verify = standardWebhookVerifier({ secrets: scheme.secret });
      return async (request) => {
        const verified = await verify(request);
        return { verified, deliveryId: verified.id };
      };
    }
  }
}

/** Raw bodies by request: the body is kept out of `request.body`, so no parser or guard touches it. */
type RawBodies = WeakMap<FastifyRequest, Buffer>;

function refuse(reply: FastifyReply, error: WebhookError): FastifyReply {
  // A bad, missing or stale signature is 401 whatever the detail; a bad handshake keeps its own status.
  const status = error.code === 'ERR_WEBHOOK_HANDSHAKE_INVALID' || (error.code === 'ERR_WEBHOOK_TOKEN_INVALID' && error.status === 403) ? error.status : 401;
  return reply.code(status).send(error.body);
}

/**
 * The inbound endpoints, `POST /webhooks/<name>` (and Meta's `GET /webhooks/whatsapp` handshake). Each
 * verifies the raw body with its scheme, stores the event once per delivery key (the provider's
 * delivery id, or `sha256:<hex>` of the body), answers 200, and only then hands the event to
 * `delivery`. A duplicate answers 200 and stores nothing; a bad or missing signature 401 and stores
 * nothing; a body over `maxBody` 413.
 */
export async function registerWebhookRoutes(
  app: FastifyInstance,
  options: { settings: WebhookSettings; store: WebhookEventStore; delivery: WebhookDelivery; logger: Logger },
): Promise<void> {
  const { settings, store, delivery, logger } = options;
  await app.register(
    async (scope) => {
      const raw: RawBodies = new WeakMap();
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: settings.maxBody }, (request, body, done) => {
        raw.set(request, body as Buffer);
        done(null, undefined);
      });
      scope.setErrorHandler((error: FastifyError, _request, reply) => {
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: 'payload_too_large', error_description: `body larger than ${settings.maxBody} bytes` });
        const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
        if (status === 500) logger.error({ reason: error.message }, 'webhook request failed');
        return reply.code(status).send({ error: status === 500 ? 'internal_error' : 'bad_request', error_description: status === 500 ? 'Internal server error' : error.message });
      });
      scope.setNotFoundHandler((request, reply) => {
        reply.code(404).send({ error: 'not_found', error_description: `No webhook endpoint at ${request.url.split('?')[0]}` });
      });

      for (const endpoint of settings.endpoints) {
        const authenticate = authenticator(endpoint);
        if (endpoint.scheme.kind === 'meta' && endpoint.scheme.verifyToken !== null) {
          const verifyToken = endpoint.scheme.verifyToken;
          scope.get<{ Querystring: Record<string, string> }>(`/${endpoint.name}`, async (request, reply) => {
            try {
              const challenge = verifyMetaHandshake(request.query, { verifyTokens: verifyToken });
              // Echoed input: plain text the browser must not sniff as markup.
              return reply.code(200).type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(challenge);
            } catch (error) {
              if (error instanceof WebhookError) return refuse(reply, error);
              throw error;
            }
          });
        }
        scope.post(`/${endpoint.name}`, async (request, reply) => {
          const body = raw.get(request) ?? Buffer.alloc(0);
          let outcome: Awaited<ReturnType<Authenticator>>;
          try {
            outcome = await authenticate({ headers: request.headers, body });
          } catch (error) {
            if (!(error instanceof WebhookError)) throw error;
            logger.info({ endpoint: endpoint.name, code: error.code }, 'webhook delivery refused');
            return refuse(reply, error);
          }
          const deliveryKey = outcome.deliveryId ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(request.headers)) {
            if (!SECRET_HEADERS.has(name) && typeof value === 'string') headers[name] = value;
          }
          const id = await store.insert(endpoint.name, deliveryKey, headers, outcome.verified.body, endpoint.forwardUrl !== null);
          if (id === null) return reply.code(200).send({ received: true, duplicate: true });
          // Downstream work starts once the answer is written (or the provider has gone).
          reply.raw.once('close', () => delivery.deliver({ id, endpoint: endpoint.name, deliveryKey, headers, body: outcome.verified.body }));
          return reply.code(200).send({ received: true, id });
        });
      }
    },
    { prefix: WEBHOOKS_PREFIX },
  );
}
