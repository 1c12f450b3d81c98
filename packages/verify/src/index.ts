/**
 * `@latchkey/verify`: the resource-server kit. Bearer JWT verification (JWKS, static keys or an HMAC
 * secret), RFC 6750 authentication helpers, and the `withClaims` row-level-security helper.
 * Framework adapters live in `@latchkey/verify/fastify`, `/express` and `/hono`; webhook
 * authenticators in `@latchkey/verify/webhooks`; the revocation feed (refusing tokens of ended
 * sessions) in `@latchkey/verify/revocations`.
 *
 * @module
 */
export {
  AlgorithmNotAllowedError,
  ClaimInvalidError,
  isVerifyError,
  JwksUnavailableError,
  KeyNotFoundError,
  RevocationFeedClosedError,
  RevocationFeedStaleError,
  RevocationFeedUnauthorizedError,
  RevocationFeedUnavailableError,
  SignatureInvalidError,
  TokenExpiredError,
  TokenMalformedError,
  TokenNotYetValidError,
  TokenRevokedError,
  VERIFY_ERROR_CODES,
  VerifyError,
  type AnyVerifyError,
  type VerifyErrorCode,
} from './errors.js';
export { createVerifier, type LenientVerifierOptions, type SecretInput, type StrictVerifierOptions, type Verifier, type VerifierOptions } from './verifier.js';
export type { Algorithm } from './jwt/algorithms.js';
export type { Claims, UncheckedClaims } from './jwt/claims.js';
export type { JwksOptions, JwksState } from './jwt/jwks.js';
export type { KeySet } from './jwt/local.js';
export type { KeyInput } from './jwt/keys.js';
export type { TokenCacheOptions } from './cache.js';
export { createDenyList, type DenyList, type RevocationCheck } from './revocation.js';
export {
  authenticate,
  authenticateFast,
  bearerToken,
  BearerError,
  checkAccess,
  toBearerError,
  type BearerErrorBody,
  type BearerErrorCode,
  type BearerErrorKind,
  type BearerOptions,
  type HeadersLike,
} from './http/bearer.js';
export { databaseRole, withClaims, type ClaimsDatabase, type ClaimsTransaction, type DatabaseRole } from './rls.js';
export {
  parseRevocationEvent,
  REVOCATION_KINDS,
  revocationMatches,
  type RevocationEvent,
  type RevocationKind,
} from './revocation-events.js';
