/**
 * `@latchkey/verify/webhooks`: authenticators for incoming webhooks over the raw body bytes, with
 * constant-time comparison and several active secrets for rotation. Verify first, parse after.
 *
 * @module
 */
export type { RawBody, VerifiedWebhook, WebhookHeaders, WebhookRequest } from './common.js';
export { WebhookError, type WebhookErrorCode } from './errors.js';
export { verifyMetaHandshake, verifyMetaSignature, type HandshakeQuery } from './meta.js';
export { verifyShopifyWebhook } from './shopify.js';
export { verifyStripeWebhook, type StripeWebhookOptions, type VerifiedStripeWebhook } from './stripe.js';
export {
  standardWebhookKey,
  standardWebhookVerifier,
  verifyStandardWebhook,
  type StandardWebhookOptions,
  type VerifiedStandardWebhook,
} from './standard.js';
export { verifyStaticBearer } from './bearer.js';
export { memoryReplayStore, postgresReplayStore, redisReplayStore, type RedisSetNx, type ReplayStore, type SqlQueryable } from './replay.js';
