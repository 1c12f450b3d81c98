/**
 * Verification errors: one base class, one subclass per failure, each with a stable `code`.
 *
 * `description` is short and safe to show to the caller (it never contains the token);
 * `temporary` tells whether retrying the same token later may succeed.
 *
 * @module
 */

/** Every code a {@link VerifyError} can carry. */
export type VerifyErrorCode =
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_ALG_NOT_ALLOWED'
  | 'ERR_KEY_NOT_FOUND'
  | 'ERR_SIGNATURE_INVALID'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_NOT_YET_VALID'
  | 'ERR_CLAIM_INVALID'
  | 'ERR_JWKS_UNAVAILABLE'
  | 'ERR_TOKEN_REVOKED'
  | 'ERR_REVOCATION_FEED_STALE'
  | 'ERR_REVOCATION_FEED_UNAUTHORIZED'
  | 'ERR_REVOCATION_FEED_UNAVAILABLE'
  | 'ERR_REVOCATION_FEED_CLOSED';

/** All codes, for tables and exhaustive tests. */
export const VERIFY_ERROR_CODES: readonly VerifyErrorCode[] = [
  'ERR_TOKEN_MALFORMED',
  'ERR_ALG_NOT_ALLOWED',
  'ERR_KEY_NOT_FOUND',
  'ERR_SIGNATURE_INVALID',
  'ERR_TOKEN_EXPIRED',
  'ERR_TOKEN_NOT_YET_VALID',
  'ERR_CLAIM_INVALID',
  'ERR_JWKS_UNAVAILABLE',
  'ERR_TOKEN_REVOKED',
  'ERR_REVOCATION_FEED_STALE',
  'ERR_REVOCATION_FEED_UNAUTHORIZED',
  'ERR_REVOCATION_FEED_UNAVAILABLE',
  'ERR_REVOCATION_FEED_CLOSED',
];

/** Base class of every token verification failure. */
export class VerifyError extends Error {
  /** Stable machine-readable code; `switch (error.code)` narrows on {@link AnyVerifyError}. */
  readonly code: VerifyErrorCode;
  /** `true` when the failure is on our side (key set unreachable) and a retry may succeed. */
  readonly temporary: boolean;
  /** A short description that is safe to send to the client. */
  readonly description: string;

  constructor(code: VerifyErrorCode, description: string, options: { temporary?: boolean; cause?: unknown } = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.description = description;
    this.temporary = options.temporary ?? false;
  }
}

/** The token is not a compact JWS with JSON header and payload, or exceeds the size limits. */
export class TokenMalformedError extends VerifyError {
  static readonly code = 'ERR_TOKEN_MALFORMED';
  declare readonly code: 'ERR_TOKEN_MALFORMED';
  constructor(description = 'token is malformed') {
    super('ERR_TOKEN_MALFORMED', description);
  }
}

/** The header's `alg` is not in the allow-list, or does not fit the selected key. */
export class AlgorithmNotAllowedError extends VerifyError {
  static readonly code = 'ERR_ALG_NOT_ALLOWED';
  declare readonly code: 'ERR_ALG_NOT_ALLOWED';
  constructor(description = 'algorithm not allowed') {
    super('ERR_ALG_NOT_ALLOWED', description);
  }
}

/** No configured or published key matches the token's `kid` and `alg`. */
export class KeyNotFoundError extends VerifyError {
  static readonly code = 'ERR_KEY_NOT_FOUND';
  declare readonly code: 'ERR_KEY_NOT_FOUND';
  constructor(description = 'signing key not found') {
    super('ERR_KEY_NOT_FOUND', description);
  }
}

/** The signature does not verify with the selected key. */
export class SignatureInvalidError extends VerifyError {
  static readonly code = 'ERR_SIGNATURE_INVALID';
  declare readonly code: 'ERR_SIGNATURE_INVALID';
  constructor(description = 'signature invalid') {
    super('ERR_SIGNATURE_INVALID', description);
  }
}

/** `exp` (or the configured maximum token age) has passed. */
export class TokenExpiredError extends VerifyError {
  static readonly code = 'ERR_TOKEN_EXPIRED';
  declare readonly code: 'ERR_TOKEN_EXPIRED';
  constructor(description = 'token expired') {
    super('ERR_TOKEN_EXPIRED', description);
  }
}

/** `nbf` lies in the future. */
export class TokenNotYetValidError extends VerifyError {
  static readonly code = 'ERR_TOKEN_NOT_YET_VALID';
  declare readonly code: 'ERR_TOKEN_NOT_YET_VALID';
  constructor(description = 'token not yet valid') {
    super('ERR_TOKEN_NOT_YET_VALID', description);
  }
}

/** A claim is missing, has the wrong type, or the wrong value (`iss`, `aud`, `typ`, ...). */
export class ClaimInvalidError extends VerifyError {
  static readonly code = 'ERR_CLAIM_INVALID';
  declare readonly code: 'ERR_CLAIM_INVALID';
  /** Name of the offending claim (`iss`, `aud`, `exp`, ...; `typ` for the header parameter). */
  readonly claim: string;
  constructor(claim: string, description = `invalid "${claim}" claim`) {
    super('ERR_CLAIM_INVALID', description);
    this.claim = claim;
  }
}

/** The key set could not be fetched and no usable earlier copy exists. Temporary. */
export class JwksUnavailableError extends VerifyError {
  static readonly code = 'ERR_JWKS_UNAVAILABLE';
  declare readonly code: 'ERR_JWKS_UNAVAILABLE';
  /** Seconds after which a retry is sensible. */
  readonly retryAfter: number;
  constructor(retryAfter: number, cause?: unknown) {
    super('ERR_JWKS_UNAVAILABLE', 'signing keys unavailable', { temporary: true, cause });
    this.retryAfter = retryAfter;
  }
}

/** The revocation hook reported the token (or its session) as revoked. */
export class TokenRevokedError extends VerifyError {
  static readonly code = 'ERR_TOKEN_REVOKED';
  declare readonly code: 'ERR_TOKEN_REVOKED';
  constructor(description = 'token revoked') {
    super('ERR_TOKEN_REVOKED', description);
  }
}

/**
 * The revocation feed has not been current for longer than its `maxStaleness`: the token cannot be
 * checked against recent revocations, so it is refused for now. Temporary (HTTP 503 in the adapters).
 */
export class RevocationFeedStaleError extends VerifyError {
  static readonly code = 'ERR_REVOCATION_FEED_STALE';
  declare readonly code: 'ERR_REVOCATION_FEED_STALE';
  /** Seconds after which a retry is sensible. */
  readonly retryAfter: number;
  constructor(retryAfter: number, cause?: unknown) {
    super('ERR_REVOCATION_FEED_STALE', 'revocation feed unavailable', { temporary: true, cause });
    this.retryAfter = retryAfter;
  }
}

/**
 * The revocation feed refused the service key (HTTP 401 or 403). Reported in the feed's `state`
 * and by `ready`; the feed keeps retrying at its longest backoff (the key may be rotated back).
 */
export class RevocationFeedUnauthorizedError extends VerifyError {
  static readonly code = 'ERR_REVOCATION_FEED_UNAUTHORIZED';
  declare readonly code: 'ERR_REVOCATION_FEED_UNAUTHORIZED';
  /** The HTTP status the feed answered with. */
  readonly status: number;
  constructor(status: number) {
    super('ERR_REVOCATION_FEED_UNAUTHORIZED', `revocation feed refused the service key (HTTP ${status})`);
    this.status = status;
  }
}

/** The revocation feed could not be reached or broke off (network, 5xx, wrong content type, silence). Temporary. */
export class RevocationFeedUnavailableError extends VerifyError {
  static readonly code = 'ERR_REVOCATION_FEED_UNAVAILABLE';
  declare readonly code: 'ERR_REVOCATION_FEED_UNAVAILABLE';
  constructor(description = 'revocation feed unavailable', cause?: unknown) {
    super('ERR_REVOCATION_FEED_UNAVAILABLE', description, { temporary: true, cause });
  }
}

/** The revocation feed was closed (`close()`) before it caught up: `ready` rejects with this. */
export class RevocationFeedClosedError extends VerifyError {
  static readonly code = 'ERR_REVOCATION_FEED_CLOSED';
  declare readonly code: 'ERR_REVOCATION_FEED_CLOSED';
  constructor() {
    super('ERR_REVOCATION_FEED_CLOSED', 'revocation feed closed');
  }
}

/** Union of every concrete error, so `switch (error.code)` narrows to the subclass. */
export type AnyVerifyError =
  | TokenMalformedError
  | AlgorithmNotAllowedError
  | KeyNotFoundError
  | SignatureInvalidError
  | TokenExpiredError
  | TokenNotYetValidError
  | ClaimInvalidError
  | JwksUnavailableError
  | TokenRevokedError
  | RevocationFeedStaleError
  | RevocationFeedUnauthorizedError
  | RevocationFeedUnavailableError
  | RevocationFeedClosedError;

/** Type guard: `true` for any {@link VerifyError}. */
export function isVerifyError(value: unknown): value is AnyVerifyError {
  return value instanceof VerifyError;
}
