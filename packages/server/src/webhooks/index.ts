import type { FastifyInstance } from 'fastify';
import type { AppContext, MountedService } from '../http/context.js';
import { IDENTITY_PREFIX, type IdentityExports } from '../identity/index.js';
import type { GatewayExports } from '../gateway/index.js';
import { registerWebhookAdminRoutes } from './admin-routes.js';
import { WebhookDelivery } from './delivery.js';
import { registerWebhookRoutes, WEBHOOKS_PREFIX } from './routes.js';
import { loadWebhookSettings, type WebhookSettings } from './settings.js';
import { WebhookEventStore } from './store.js';

export { loadWebhookSettings, type WebhookEndpoint, type WebhookScheme, type WebhookSettings } from './settings.js';
export type { WebhookEvent, WebhookEventSummary } from './store.js';

/** What the webhooks service offers the services built after it. */
export interface WebhooksExports {
  readonly settings: WebhookSettings;
}

/** What the webhooks service is built on; each is `null` when it does not run in this process. */
export interface WebhooksDependencies {
  /** Serves the admin routes under `/auth/v1/admin/webhooks`. */
  readonly identity: IdentityExports | null;
  /** Receives every event on the channel `webhooks:<name>`. */
  readonly gateway: GatewayExports | null;
}

/**
 * Inbound webhook endpoints at `/webhooks/<name>`, mounted only for what `LATCHKEY_WEBHOOK_*`
 * configures, and their admin routes under `/auth/v1/admin/webhooks` (when the identity service runs).
 * Events go to the gateway channel `webhooks:<name>` when the gateway runs.
 */
export async function mountWebhooks(app: FastifyInstance, context: AppContext, { identity, gateway }: WebhooksDependencies): Promise<MountedService<WebhooksExports>> {
  const settings = loadWebhookSettings(context.env);
  const logger = context.logger.child({ service: 'webhooks' });
  const store = new WebhookEventStore(context.db);
  const forwardUrls = new Map(settings.endpoints.flatMap((endpoint) => (endpoint.forwardUrl ? [[endpoint.name, endpoint.forwardUrl] as const] : [])));
  const delivery = new WebhookDelivery(store, settings, gateway ? (channel, data) => gateway.publish(channel, data) : null, logger, forwardUrls);
  if (settings.endpoints.length > 0) await registerWebhookRoutes(app, { settings, store, delivery, logger });
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
    exports: { settings },
    banner: (base) => (settings.endpoints.length === 0 ? [] : [`webhooks  ${settings.endpoints.map((endpoint) => `${base}${WEBHOOKS_PREFIX}/${endpoint.name}`).join(', ')}`]),
    close: () => delivery.close(),
  };
}
