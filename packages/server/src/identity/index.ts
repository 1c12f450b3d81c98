export { IDENTITY_PREFIX, type IdentityExports, type IdentityTokens } from './service.js';
export { loadIdentitySettings, MIN_SECRET_BYTES, type IdentitySettings } from './settings.js';
export { IdentityError, OAuthError, type IdentityErrorCode } from './errors.js';
export type { ClaimsHook, ClaimsHookInput, ClaimsHookOutput, ClaimsHookContext } from './claims.js';
export type { StartSessionOptions, ClientFacts } from './sessions.js';
export { endSessions, type EndSessionsOptions } from './end-sessions.js';
export type { AccessTokenClaims, AmrEntry, AppMetadata, AuthenticationMethod, AuthenticatorAssuranceLevel, IdentityJson, TokenResponse, UserJson } from './types.js';
export { KeyStore, rotateSigningKey, type RotationResult, type KeySource } from './keys/key-store.js';
export { loadApiKeys, type ApiKeys } from './keys/api-keys.js';
export { LOCK_SQL as REFRESH_LOCK_SQL, ROTATE_SQL as REFRESH_ROTATE_SQL } from './store/refresh-tokens.js';
export { createOAuthClient, listOAuthClients, deleteOAuthClient, clientJson, type ClientJson, type NewClient } from './oauth/clients.js';
export { readOutbox, outboxJson, loadMailSettings, type OutboxMessage, type MailSettings } from '../mail/index.js';
export {
  AUDIT_ACTIONS,
  adminActor,
  userActor,
  loadAuditSettings,
  readAuditLog,
  pruneAuditLog,
  type AuditAction,
  type AuditActor,
  type AuditEntryJson,
  type AuditFilter,
  type AuditLogType,
  type AuditPage,
  type AuditRecord,
  type AuditSettings,
  type AuditWriter,
} from './audit/index.js';
