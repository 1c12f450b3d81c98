/**
 * RFC 6750 bearer authentication independent of any framework: read the `Authorization` header,
 * verify the token, check scopes and roles, and describe failures as HTTP answers.
 *
 * | situation | status | `WWW-Authenticate` | body `error` |
 * |---|---|---|---|
 * | no credentials | 401 | `Bearer realm="…"` | `unauthorized` |
 * | malformed `Authorization` header | 400 | `Bearer realm="…", error="invalid_request"` | `invalid_request` |
 * | bad, expired or revoked token | 401 | `Bearer realm="…", error="invalid_token", error_description="…"` | `invalid_token` |
 * | scope or role missing | 403 | `Bearer realm="…", error="insufficient_scope", scope="…"` | `insufficient_scope` |
 * | key set unreachable (`ERR_JWKS_UNAVAILABLE`) | 503 + `Retry-After` | — | `temporarily_unavailable` |
 * | revocation feed stale (`ERR_REVOCATION_FEED_STALE`) | 503 + `Retry-After` | — | `temporarily_unavailable` |
 *
 * @module
 */
import { isVerifyError, JwksUnavailableError, RevocationFeedStaleError, type VerifyErrorCode } from '../errors.js';
import type { Claims } from '../jwt/claims.js';
import type { Verifier } from '../verifier.js';

/** Codes of {@link BearerError}: request-level failures plus every {@link VerifyErrorCode}. */
export type BearerErrorCode = 'ERR_CREDENTIALS_MISSING' | 'ERR_AUTHORIZATION_MALFORMED' | 'ERR_INSUFFICIENT_SCOPE' | VerifyErrorCode;

/** The `error` member of the JSON body (RFC 6750 codes, plus two for the cases it leaves open). */
export type BearerErrorKind = 'unauthorized' | 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable';

/** JSON body of a failed authentication. */
export interface BearerErrorBody {
  readonly error: BearerErrorKind;
  readonly error_description: string;
  readonly code: BearerErrorCode;
}

/** Options shared by {@link authenticate} and the framework adapters. */
export interface BearerOptions {
  /** The verifier that checks tokens (see `createVerifier`). */
  readonly verifier: Pick<Verifier, 'verify' | 'verifyFast'>;
  /** `realm` of the challenge. Default is `"api"`. */
  readonly realm?: string;
  /** Scopes the token must all carry (`scope` claim, space-separated, or `scp` array). Default: none. */
  readonly scopes?: readonly string[];
  /** Values of the `role` claim of which the token must carry one. Default: any role. */
  readonly roles?: readonly string[];
}

/** A failed authentication, ready to be sent: `status`, `headers` and `body`. */
export class BearerError extends Error {
  readonly code: BearerErrorCode;
  readonly status: 400 | 401 | 403 | 503;
  readonly error: BearerErrorKind;
  /** Safe to show; never contains the token. */
  readonly description: string;
  /** Response headers: `WWW-Authenticate`, and `Retry-After` for 503. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: BearerErrorCode, status: 400 | 401 | 403 | 503, error: BearerErrorKind, description: string, headers: Record<string, string>, cause?: unknown) {
    super(description, cause === undefined ? undefined : { cause });
    this.name = 'BearerError';
    this.code = code;
    this.status = status;
    this.error = error;
    this.description = description;
    this.headers = headers;
  }

  /** The JSON body to send. */
  get body(): BearerErrorBody {
    return { error: this.error, error_description: this.description, code: this.code };
  }
}

/** Request headers as Node (`IncomingHttpHeaders`), Fetch (`Headers`) or a plain record give them. */
export type HeadersLike = { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

/** RFC 6750 §2.1 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, '')}"`;
}

function challenge(realm: string, params: Record<string, string> = {}): string {
  const parts = [`realm=${quoted(realm)}`];
  for (const [name, value] of Object.entries(params)) parts.push(`${name}=${quoted(value)}`);
  return `Bearer ${parts.join(', ')}`;
}

function authorizationHeader(headers: HeadersLike): string | readonly string[] | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): string | null }).get('authorization') ?? undefined;
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  return record.authorization ?? record.Authorization;
}

/** Turns a verification failure into the answer to send; other errors are returned unchanged. */
export function toBearerError(error: unknown, realm = 'api'): BearerError | unknown {
  if (error instanceof BearerError || !isVerifyError(error)) return error;
  if (error instanceof JwksUnavailableError || error instanceof RevocationFeedStaleError) {
    return new BearerError(error.code, 503, 'temporarily_unavailable', error.description, { 'retry-after': String(error.retryAfter) }, error);
  }
  return new BearerError(error.code, 401, 'invalid_token', error.description, {
    'www-authenticate': challenge(realm, { error: 'invalid_token', error_description: error.description }),
  }, error);
}

function malformed(realm: string, description: string, cause?: unknown): BearerError {
  return new BearerError('ERR_AUTHORIZATION_MALFORMED', 400, 'invalid_request', description, {
    'www-authenticate': challenge(realm, { error: 'invalid_request', error_description: description }),
  }, cause);
}

/** Extracts the bearer token from `headers`; throws {@link BearerError} (400/401). */
export function bearerToken(headers: HeadersLike, realm = 'api'): string {
  const value = authorizationHeader(headers);
  if (value === undefined || value === '') {
    throw new BearerError('ERR_CREDENTIALS_MISSING', 401, 'unauthorized', 'authentication required', { 'www-authenticate': challenge(realm) });
  }
  if (typeof value !== 'string') throw malformed(realm, 'more than one Authorization header');
  // Fast path for the common spelling; the scheme is case-insensitive (RFC 7235 §2.1).
  let token: string;
  if (value.startsWith('Bearer ') && value.charCodeAt(7) > 32 && value.charCodeAt(value.length - 1) > 32) {
    token = value.slice(7);
  } else {
    const space = value.indexOf(' ');
    const scheme = space === -1 ? value : value.slice(0, space);
    if (scheme.toLowerCase() !== 'bearer') {
      throw new BearerError('ERR_CREDENTIALS_MISSING', 401, 'unauthorized', 'bearer token required', { 'www-authenticate': challenge(realm) });
    }
    token = space === -1 ? '' : value.slice(space + 1).trim();
  }
  if (token === '') throw malformed(realm, 'bearer token missing');
  return token;
}

/** Maps a verification failure to its answer; a token that is not even RFC 6750 syntax is a 400. */
function failure(error: unknown, token: string, realm: string): unknown {
  if (isVerifyError(error) && error.code === 'ERR_TOKEN_MALFORMED' && !B64TOKEN.test(token)) {
    return malformed(realm, 'bearer token has invalid characters', error);
  }
  return toBearerError(error, realm);
}

function grantedScopes(claims: Claims): ReadonlySet<string> {
  const granted = new Set<string>();
  if (typeof claims.scope === 'string') for (const scope of claims.scope.split(' ')) if (scope) granted.add(scope);
  const scp = claims.scp;
  if (Array.isArray(scp)) for (const scope of scp) if (typeof scope === 'string') granted.add(scope);
  return granted;
}

/** Throws a 403 {@link BearerError} unless `claims` carry every scope and one of the roles. */
export function checkAccess(claims: Claims, options: Pick<BearerOptions, 'realm' | 'scopes' | 'roles'>): void {
  const realm = options.realm ?? 'api';
  const scopes = options.scopes;
  if (scopes !== undefined && scopes.length > 0) {
    const granted = grantedScopes(claims);
    if (!scopes.every((scope) => granted.has(scope))) {
      const needed = scopes.join(' ');
      throw new BearerError('ERR_INSUFFICIENT_SCOPE', 403, 'insufficient_scope', 'insufficient scope', {
        'www-authenticate': challenge(realm, { error: 'insufficient_scope', error_description: 'insufficient scope', scope: needed }),
      });
    }
  }
  const roles = options.roles;
  if (roles !== undefined && roles.length > 0 && !(typeof claims.role === 'string' && roles.includes(claims.role))) {
    throw new BearerError('ERR_INSUFFICIENT_SCOPE', 403, 'insufficient_scope', 'role not permitted', {
      'www-authenticate': challenge(realm, { error: 'insufficient_scope', error_description: 'role not permitted' }),
    });
  }
}

/**
 * Authenticates a request by its headers and resolves to the token's claims. Rejects with a
 * {@link BearerError} carrying status, headers and body; an error thrown by a revocation hook is
 * passed through unchanged.
 *
 * @example
 * ```ts
 * try {
 *   const claims = await authenticate(request.headers, { verifier, scopes: ['notes:read'] });
 * } catch (error) {
 *   if (error instanceof BearerError) return send(error.status, error.headers, error.body);
 *   throw error;
 * }
 * ```
 */
export async function authenticate(headers: HeadersLike, options: BearerOptions): Promise<Claims> {
  return authenticateFast(headers, options);
}

/**
 * {@link authenticate} for hot paths: returns the claims synchronously (or throws the
 * {@link BearerError}) unless the verifier has to wait on I/O, in which case it returns a promise.
 */
export function authenticateFast(headers: HeadersLike, options: BearerOptions): Claims | Promise<Claims> {
  const realm = options.realm ?? 'api';
  const token = bearerToken(headers, realm);
  const verifier = options.verifier;
  let result: Claims | Promise<Claims>;
  try {
    result = typeof verifier.verifyFast === 'function' ? verifier.verifyFast(token) : verifier.verify(token);
  } catch (error) {
    throw failure(error, token, realm);
  }
  if (result instanceof Promise) {
    return result.then(
      (claims) => {
        checkAccess(claims, options);
        return claims;
      },
      (error: unknown) => {
        throw failure(error, token, realm);
      },
    );
  }
  checkAccess(result, options);
  return result;
}

/** Validates adapter options eagerly. */
export function checkBearerOptions(options: BearerOptions): void {
  if (typeof options !== 'object' || options === null || typeof options.verifier?.verify !== 'function') {
    throw new TypeError('`verifier` is required (see createVerifier)');
  }
  for (const name of ['scopes', 'roles'] as const) {
    const value = options[name];
    if (value !== undefined && (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string'))) throw new TypeError(`\`${name}\` must be an array of strings`);
  }
}
