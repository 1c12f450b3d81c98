import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IdentityError, type IdentityExports } from '../identity/index.js';
import type { WebhookDelivery } from './delivery.js';
import { buildWebhooksOpenApi } from './openapi.js';
import type { WebhookSettings } from './settings.js';
import type { WebhookEventStore } from './store.js';

function positiveInteger(value: string | undefined, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1 || Number(value) > max) throw new IdentityError(400, 'validation_failed', `${name} must be a whole number from 1 to ${max}`);
  return Number(value);
}

/**
 * The admin routes under `/auth/v1/admin/webhooks` (service role only): `GET /events`, `GET
 * /events/{id}`, `POST /events/{id}/replay`, and `GET /openapi.json`, the admin-only description of the
 * webhook endpoints.
 */
export function registerWebhookAdminRoutes(
  scope: FastifyInstance,
  options: { identity: IdentityExports; settings: WebhookSettings; store: WebhookEventStore; delivery: WebhookDelivery; publicUrl: () => string },
): void {
  const { identity, store, delivery } = options;
  const requireService = async (request: FastifyRequest): Promise<void> => {
    const actor = await identity.requireActor(request);
    if (actor.kind !== 'service') throw new IdentityError(403, 'not_admin', 'User not allowed');
  };
  const load = async (raw: string) => {
    const id = positiveInteger(raw, 'id');
    const event = id === undefined ? null : await store.get(id);
    if (!event) throw new IdentityError(404, 'not_found', 'Webhook event not found');
    return event;
  };

  scope.get<{ Querystring: { endpoint?: string; before?: string; limit?: string } }>('/events', async (request) => {
    await requireService(request);
    const { endpoint, before, limit } = request.query;
    return { events: await store.list({ endpoint: endpoint || undefined, before: positiveInteger(before, 'before'), limit: positiveInteger(limit, 'limit', 1000) ?? 50 }) };
  });

  scope.get<{ Params: { id: string } }>('/events/:id', async (request) => {
    await requireService(request);
    const { body, ...event } = await load(request.params.id);
    const text = body.toString('utf8');
    const utf8 = Buffer.from(text, 'utf8').equals(body);
    return { ...event, body: utf8 ? text : body.toString('base64'), body_encoding: utf8 ? 'utf8' : 'base64' };
  });

  scope.post<{ Params: { id: string } }>('/events/:id/replay', async (request, reply) => {
    await requireService(request);
    const event = await load(request.params.id);
    const forwarding = options.settings.endpoints.some((endpoint) => endpoint.name === event.endpoint && endpoint.forwardUrl !== null);
    await store.markReplayed(event.id, forwarding);
    delivery.deliver({ id: event.id, endpoint: event.endpoint, deliveryKey: event.delivery_key, headers: event.headers, body: event.body });
    return reply.code(202).send({ replayed: true, id: event.id });
  });

  scope.get('/openapi.json', async (request) => {
    await requireService(request);
    return buildWebhooksOpenApi(options.publicUrl(), options.settings);
  });
}
