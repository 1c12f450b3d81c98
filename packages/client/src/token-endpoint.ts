/**
 * The token endpoint protocol: build one grant request, process its response. Two wire formats:
 * - `oauth` — RFC 6749: `POST <tokenUrl>` with a form-encoded body (`/auth/v1/oauth/token`);
 * - `gotrue` — Supabase Auth: `POST <tokenUrl>?grant_type=…` with a JSON body and an `apikey` header
 *   (`/auth/v1/token`).
 *
 * @module
 */
import { parseRetryAfter } from './backoff.js';
import { InvalidTokenResponseError, TokenEndpointError, TokenEndpointUnavailableError } from './errors.js';
import { TokenSet } from './token-set.js';

/** Form fields of one grant, `grant_type` included. Providers produce these and nothing else. */
export interface GrantFields {
  readonly grant_type: string;
  readonly [field: string]: string | undefined;
}

/** Wire format of the token endpoint. */
export type TokenEndpointProtocol = 'oauth' | 'gotrue';

/** Where and how grants are sent. */
export interface TokenEndpoint {
  /** `…/auth/v1/oauth/token` for `oauth`, `…/auth/v1/token` for `gotrue`. */
  readonly url: string;
  /** Default `oauth`. */
  readonly protocol?: TokenEndpointProtocol | undefined;
  /** Sent as the `apikey` header (the anon key); GoTrue deployments behind a gateway need it. */
  readonly apiKey?: string | undefined;
  /** Extra headers for every token request. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * Error codes that mean the grant can never succeed again: the session (or the credentials) is gone.
 * OAuth's `invalid_grant`/`invalid_client`/`unauthorized_client`, and GoTrue's codes for a dead session.
 */
export const SESSION_ENDED_ERRORS: ReadonlySet<string> = new Set([
  'invalid_grant',
  'invalid_client',
  'unauthorized_client',
  'refresh_token_not_found',
  'refresh_token_already_used',
  'session_not_found',
  'session_expired',
  'user_banned',
  'user_not_found',
  'invalid_credentials',
]);

/**
 * Error codes that say "later" whatever the status: RFC 6749's `temporarily_unavailable`, `slow_down`
 * (RFC 8628, also sent by rate limiters) and GoTrue's rate-limit and contention codes.
 */
export const TRANSIENT_ERRORS: ReadonlySet<string> = new Set([
  'temporarily_unavailable',
  'slow_down',
  'over_request_rate_limit',
  'conflict',
  'unexpected_failure',
]);

/** Statuses worth retrying: timeouts, GoTrue's refresh contention (409), rate limits and server errors. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
}

/** Builds the HTTP request for one grant. Throws `TypeError` for a grant the protocol cannot carry. */
export function tokenRequest(endpoint: TokenEndpoint, grant: GrantFields): { url: string; init: RequestInit } {
  const headers: Record<string, string> = { accept: 'application/json', ...endpoint.headers };
  if (endpoint.apiKey) headers.apikey = endpoint.apiKey;
  if ((endpoint.protocol ?? 'oauth') === 'oauth') {
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(grant)) if (value !== undefined) form.set(name, value);
    headers['content-type'] = 'application/x-www-form-urlencoded';
    return { url: endpoint.url, init: { method: 'POST', headers, body: form.toString() } };
  }
  const url = new URL(endpoint.url);
  url.searchParams.set('grant_type', grant.grant_type);
  headers['content-type'] = 'application/json;charset=UTF-8';
  headers['x-supabase-api-version'] = '2024-01-01';
  return { url: url.toString(), init: { method: 'POST', headers, body: JSON.stringify(gotrueBody(grant)) } };
}

function gotrueBody(grant: GrantFields): Record<string, string> {
  switch (grant.grant_type) {
    case 'password': {
      if (grant.totp !== undefined) throw new TypeError('the GoTrue token endpoint takes no TOTP code; use the OAuth token endpoint');
      const username = grant.username ?? '';
      return username.startsWith('+') ? { phone: username, password: grant.password ?? '' } : { email: username, password: grant.password ?? '' };
    }
    case 'refresh_token':
      return { refresh_token: grant.refresh_token ?? '' };
    default:
      throw new TypeError(`the GoTrue token endpoint does not support grant_type "${grant.grant_type}"`);
  }
}

/** The error code and description of an error body, in any of the shapes OAuth and GoTrue use. */
export function readErrorBody(body: unknown): { error: string | undefined; description: string | undefined } {
  if (typeof body !== 'object' || body === null) return { error: undefined, description: undefined };
  const record = body as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  return {
    error: text(record.error) ?? text(record.error_code) ?? text(record.code),
    description: text(record.error_description) ?? text(record.message) ?? text(record.msg),
  };
}

/**
 * Turns a token endpoint response into a {@link TokenSet}, strictly: the body must be a JSON object with
 * a non-empty string `access_token`, a `token_type` of `bearer` (any case), and — when present —
 * `expires_in` / `refresh_expires_in` as finite numbers ≥ 0 (numeric strings accepted).
 * `refresh_expires_in` of 0 or absent means the refresh token has no known expiry.
 *
 * @param requestedAt when the request was sent (ms); expiries are anchored there.
 * @throws TokenEndpointUnavailableError for a transient failure (5xx, 408, 409, 429).
 * @throws TokenEndpointError for any other error status.
 * @throws InvalidTokenResponseError for a 2xx answer that does not conform.
 */
export async function processTokenResponse(response: Response, requestedAt: number, now: number = Date.now()): Promise<TokenSet> {
  return (await processTokenResponseBody(response, requestedAt, now)).tokens;
}

/** {@link processTokenResponse}, also returning the parsed body (GoTrue adds `user` and `expires_at`). */
export async function processTokenResponseBody(
  response: Response,
  requestedAt: number,
  now: number = Date.now(),
): Promise<{ tokens: TokenSet; body: Record<string, unknown> }> {
  const text = await response.text().catch((cause: unknown) => {
    throw new TokenEndpointUnavailableError('the token response body could not be read', { status: response.status, cause });
  });
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const { error, description } = readErrorBody(body);
    if (isTransientStatus(response.status) || (error !== undefined && TRANSIENT_ERRORS.has(error))) {
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), now);
      throw new TokenEndpointUnavailableError(
        `token endpoint answered ${response.status}${error ? ` ${error}` : ''}${description ? `: ${description}` : ''}`,
        { status: response.status, retryAfter },
      );
    }
    throw new TokenEndpointError(response.status, error ?? 'unknown_error', description);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidTokenResponseError('the body is not a JSON object');
  const record = body as Record<string, unknown>;
  if (typeof record.access_token !== 'string' || record.access_token === '') throw new InvalidTokenResponseError('"access_token" must be a non-empty string');
  if (typeof record.token_type !== 'string') throw new InvalidTokenResponseError('"token_type" must be a string');
  if (record.token_type.toLowerCase() !== 'bearer') throw new InvalidTokenResponseError(`unsupported "token_type" ${JSON.stringify(record.token_type)}`);
  const refresh = record.refresh_token;
  if (refresh !== undefined && refresh !== null && (typeof refresh !== 'string' || refresh === '')) {
    throw new InvalidTokenResponseError('"refresh_token" must be a non-empty string');
  }
  const expiresIn = readSeconds(record, 'expires_in');
  const refreshExpiresIn = readSeconds(record, 'refresh_expires_in');
  const tokens = new TokenSet({
    accessToken: record.access_token,
    tokenType: 'Bearer',
    accessExpiresAt: expiresIn === undefined ? null : requestedAt + expiresIn * 1000,
    refreshToken: typeof refresh === 'string' ? refresh : null,
    refreshExpiresAt: refreshExpiresIn === undefined || refreshExpiresIn === 0 ? null : requestedAt + refreshExpiresIn * 1000,
  });
  return { tokens, body: record };
}

function readSeconds(record: Record<string, unknown>, name: string): number | undefined {
  const value = record[name];
  if (value === undefined || value === null) return undefined;
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds < 0) throw new InvalidTokenResponseError(`"${name}" must be a finite number >= 0`);
  return seconds;
}
