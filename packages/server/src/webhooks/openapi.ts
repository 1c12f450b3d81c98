import type { WebhookSettings } from './settings.js';

type Json = Record<string, unknown>;

const SCHEME_TEXT: Record<string, string> = {
  meta: 'Meta (WhatsApp): `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body under the app secret>`; `GET` answers the `hub.*` verify-token handshake.',
  shopify: 'Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>`; delivery key the SHA-256 of the body (the webhook id header is not signed).',
  stripe: 'Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` (5 minutes tolerance); delivery key the event `id`.',
  bearer: 'Static bearer: `Authorization: Bearer <token>`; delivery key `Idempotency-Key` when sent.',
  standard: 'Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` under the `whsec_` secret; delivery key `webhook-id`.',
};

const ERROR = { type: 'object', required: ['error'], properties: { error: { type: 'string' }, error_description: { type: 'string' } } };
const SUMMARY = {
  type: 'object',
  required: ['id', 'endpoint', 'delivery_key', 'received_at', 'forward_status', 'forward_attempts'],
  properties: {
    id: { type: 'integer' },
    endpoint: { type: 'string' },
    delivery_key: { type: 'string' },
    received_at: { type: 'string', format: 'date-time' },
    forward_status: { type: 'string', enum: ['none', 'pending', 'delivered', 'failed'] },
    forward_attempts: { type: 'integer' },
    forward_error: { type: ['string', 'null'] },
    forwarded_at: { type: ['string', 'null'], format: 'date-time' },
    replayed_at: { type: ['string', 'null'], format: 'date-time' },
  },
};
const json = (schema: Json, description: string) => ({ description, content: { 'application/json': { schema } } });

/**
 * The admin-only OpenAPI document: the configured inbound endpoints (`/webhooks/<name>`) and the
 * admin event routes. Served to the service role only; the public API document never lists them.
 */
export function buildWebhooksOpenApi(baseUrl: string, settings: WebhookSettings): Json {
  const paths: Record<string, Json> = {};
  for (const endpoint of settings.endpoints) {
    const post = {
      summary: `Inbound ${endpoint.name} webhook`,
      description: `${SCHEME_TEXT[endpoint.scheme.kind]} Verified over the raw body; stored once per delivery key; delivered to the gateway channel \`webhooks:${endpoint.name}\`${endpoint.forwardUrl ? ' and the forward URL' : ''}.`,
      security: [],
      requestBody: { required: true, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
      responses: {
        '200': json({ type: 'object', properties: { received: { const: true }, id: { type: 'integer' }, duplicate: { type: 'boolean' } } }, 'Stored (or a duplicate, stored before)'),
        '401': json(ERROR, 'Bad, missing or stale signature; nothing stored'),
        '413': json(ERROR, `Body over ${settings.maxBody} bytes`),
      },
    };
    const item: Json = { post };
    if (endpoint.scheme.kind === 'meta' && endpoint.scheme.verifyToken !== null) {
      item.get = {
        summary: 'Meta verify-token handshake',
        security: [],
        parameters: ['hub.mode', 'hub.verify_token', 'hub.challenge'].map((name) => ({ name, in: 'query', required: true, schema: { type: 'string' } })),
        responses: { '200': { description: 'The challenge, as text/plain' }, '400': json(ERROR, 'Malformed handshake'), '403': json(ERROR, 'Wrong verify token') },
      };
    }
    paths[`/webhooks/${endpoint.name}`] = item;
  }
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'integer' } };
  paths['/auth/v1/admin/webhooks/events'] = {
    get: {
      summary: 'List stored webhook events, newest first',
      parameters: [
        { name: 'endpoint', in: 'query', schema: { type: 'string' } },
        { name: 'before', in: 'query', schema: { type: 'integer' }, description: 'Only events with a smaller id (paging)' },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
      ],
      responses: { '200': json({ type: 'object', properties: { events: { type: 'array', items: SUMMARY } } }, 'Events') },
    },
  };
  paths['/auth/v1/admin/webhooks/events/{id}'] = {
    get: {
      summary: 'One event with its headers and body',
      parameters: [id],
      responses: {
        '200': json({ allOf: [SUMMARY, { type: 'object', properties: { headers: { type: 'object' }, body: { type: 'string' }, body_encoding: { enum: ['utf8', 'base64'] } } }] }, 'The event'),
        '404': json(ERROR, 'No such event'),
      },
    },
  };
  paths['/auth/v1/admin/webhooks/events/{id}/replay'] = {
    post: { summary: 'Deliver the event again (channel and forward URL)', parameters: [id], responses: { '202': json({ type: 'object' }, 'Delivery started'), '404': json(ERROR, 'No such event') } },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Latchkey inbound webhooks (admin)', version: '1' },
    servers: [{ url: baseUrl }],
    security: [{ serviceRole: [] }],
    components: { securitySchemes: { serviceRole: { type: 'http', scheme: 'bearer', description: 'The service_role key' } } },
    paths,
  };
}
