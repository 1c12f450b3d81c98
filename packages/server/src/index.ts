export * from './config/index.js';
export * from './db/index.js';
export { buildApp, type AppOptions } from './http/app.js';
export type { AppContext } from './http/context.js';
export { createLogger, redactUrl, REDACTED_PATHS, type Logger } from './logging/logger.js';
export { defaultServices, type ServiceFlags, type ServiceSelection, type Services } from './composition.js';
export { startServer, type RunningServer, type StartOptions } from './server.js';
export {
  ExtensionError,
  migrateExtension,
  type ExtensionErrorCode,
  type ExtensionConnectionClaims,
  type ExtensionHost,
  type ExtensionLogger,
  type ExtensionRealtime,
  type ExtensionTokenSettings,
  type MountedExtension,
  type ServerExtension,
} from './extensions.js';
export { buildOpenApiDocument } from './organizations/openapi.js';
export * from './admin/index.js';
export * from './identity/index.js';
export * from './revocation/index.js';
export {
  GATEWAY_VERSION,
  ErrorCode as GatewayErrorCode,
  DisconnectCode as GatewayDisconnectCode,
  RpcError,
  type GatewayExports,
  type GatewayServiceOptions,
  type GatewayClaims,
  type RpcContext,
  type RpcHandler,
} from './gateway/index.js';
export { CONSOLE_COOKIE, type ConsoleExports, type ConsoleServiceOptions } from './console/index.js';
export { loadWebhookSettings, type WebhooksExports, type WebhookEndpoint, type WebhookScheme, type WebhookSettings, type WebhookEvent, type WebhookEventSummary } from './webhooks/index.js';
export type { OrganizationsExports } from './organizations/index.js';
