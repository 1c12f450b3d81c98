import type { FastifyInstance } from 'fastify';
import type { AppContext, MountedService, ServiceModule } from '../http/context.js';
import { IDENTITY_PREFIX, identityExports } from '../identity/index.js';
import type { GatewayExports } from '../gateway/index.js';
import { registerWebhookAdminRoutes } from './admin-routes.js';
import { WebhookDelivery } from './delivery.js';
import { registerWebhookRoutes, WEBHOOKS_PREFIX } from './routes.js';
import { loadWebhookSettings } from './settings.js';
import { WebhookEventStore } from './store.js';

export { loadWebhookSettings, type WebhookEndpoint, type WebhookScheme, type WebhookSettings } from './settings.js';
export type { WebhookEvent, WebhookEventSummary } from './store.js';

/**
 * Inbound webhook endpoints at `/webhooks/<name>`, mounted only for what `LATCHKEY_WEBHOOK_*`
 * configures, and their admin routes under `/auth/v1/admin/webhooks` (when the identity service runs).
 * Events go to the gateway channel `webhooks:<name>` when the gateway is mounted before this service.
 */
export const webhooksService: ServiceModule = {
  name: 'webhooks',
  async mount(app: FastifyInstance, context: AppContext): Promise<MountedService> {
    const settings = loadWebhookSettings(context.env);
    const logger = context.logger.child({ service: 'webhooks' });
    const store = new WebhookEventStore(context.db);
    const gateway = context.services.get('gateway')?.exports as GatewayExports | undefined;
    const forwardUrls = new Map(settings.endpoints.flatMap((endpoint) => (endpoint.forwardUrl ? [[endpoint.name, endpoint.forwardUrl] as const] : [])));
    const delivery = new WebhookDelivery(store, settings, gateway ? (channel, data) => gateway.publish(channel, data) : null, logger, forwardUrls);
    if (settings.endpoints.length > 0) await registerWebhookRoutes(app, { settings, store, delivery, logger });
    const identity = identityExports(context);
    if (identity) {
      await app.register(
        async (scope) => {
          identity.prepareScope(scope);
          registerWebhookAdminRoutes(scope, { identity, settings, store, delivery, publicUrl: () => context.publicUrl() });
        },
        { prefix: `${IDENTITY_PREFIX}/admin/webhooks` },
      );
    }
    return {
      name: 'webhooks',
      banner: (base) => (settings.endpoints.length === 0 ? [] : [`webhooks  ${settings.endpoints.map((endpoint) => `${base}${WEBHOOKS_PREFIX}/${endpoint.name}`).join(', ')}`]),
      close: () => delivery.close(),
    };
  },
};
