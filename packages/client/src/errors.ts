/**
 * Every error the SDK raises. Each class has a stable `code`; {@link ClientErrorCode} lists them all so a
 * `switch (error.code)` narrows.
 *
 * @module
 */

/** Stable codes of the SDK's errors. */
export type ClientErrorCode =
  | 'ERR_INVALID_TOKEN_RESPONSE'
  | 'ERR_TOKEN_ENDPOINT'
  | 'ERR_TOKEN_ENDPOINT_UNAVAILABLE'
  | 'ERR_REAUTH_REQUIRED'
  | 'ERR_NOT_LOGGED_IN'
  | 'ERR_STORE_LOCK_TIMEOUT'
  | 'ERR_HTTP';

/** Base class of every SDK error. */
export class LatchkeyClientError extends Error {
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The token endpoint answered 2xx with a body that is not a conforming token response (no
 * `access_token`, `expires_in` not a finite number ≥ 0, an unsupported `token_type`, not JSON…).
 */
export class InvalidTokenResponseError extends LatchkeyClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_TOKEN_RESPONSE', `invalid token response: ${message}`, options);
  }
}

/**
 * The token endpoint refused the grant with a 4xx error body. `error` is the OAuth `error` or the
 * GoTrue error code (`invalid_grant`, `invalid_credentials`, `refresh_token_already_used`, …).
 */
export class TokenEndpointError extends LatchkeyClientError {
  readonly status: number;
  readonly error: string;
  readonly errorDescription: string | undefined;

  constructor(status: number, error: string, errorDescription: string | undefined) {
    super('ERR_TOKEN_ENDPOINT', errorDescription ? `${error}: ${errorDescription}` : `${error} (HTTP ${status})`);
    this.status = status;
    this.error = error;
    this.errorDescription = errorDescription;
  }
}

/**
 * The token endpoint could not be reached or answered with a transient failure (network error, 5xx,
 * 408, 409, 429). The session is kept; `retryAfter` (seconds) is set when the server sent `Retry-After`.
 */
export class TokenEndpointUnavailableError extends LatchkeyClientError {
  readonly status: number | undefined;
  readonly retryAfter: number | undefined;

  constructor(message: string, options: { status?: number | undefined; retryAfter?: number | undefined; cause?: unknown } = {}) {
    super('ERR_TOKEN_ENDPOINT_UNAVAILABLE', message, { cause: options.cause });
    this.status = options.status;
    this.retryAfter = options.retryAfter;
  }
}

/**
 * The session ended for good (the refresh token was revoked, already used, expired, or the session was
 * deleted) and the provider cannot sign in again by itself. The store has been cleared; the user must
 * log in again. `cause` holds the token endpoint's answer when there was one.
 */
export class ReauthRequiredError extends LatchkeyClientError {
  constructor(message = 'the session has ended; sign in again', options?: { cause?: unknown }) {
    super('ERR_REAUTH_REQUIRED', message, options);
  }
}

/** No session in the store and no provider to start one. */
export class NotLoggedInError extends LatchkeyClientError {
  constructor(message = 'not logged in') {
    super('ERR_NOT_LOGGED_IN', message);
  }
}

/** A file store's cross-process lock stayed held by a live process for longer than the timeout. */
export class StoreLockTimeoutError extends LatchkeyClientError {
  readonly lockPath: string;

  constructor(lockPath: string, timeoutMs: number) {
    super('ERR_STORE_LOCK_TIMEOUT', `timed out after ${timeoutMs} ms waiting for the lock ${lockPath}`);
    this.lockPath = lockPath;
  }
}

/**
 * An API call answered with an error status (raised by the {@link LatchkeyApi} facade, never by
 * `createHttpClient`, which returns responses as they are). `error` is the server's error code when
 * the body carried one.
 */
export class HttpError extends LatchkeyClientError {
  readonly status: number;
  readonly error: string | undefined;
  readonly body: unknown;

  constructor(status: number, message: string, error: string | undefined, body: unknown) {
    super('ERR_HTTP', message);
    this.status = status;
    this.error = error;
    this.body = body;
  }
}
