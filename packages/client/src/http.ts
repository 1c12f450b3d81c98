/**
 * `createHttpClient`: `fetch` with the session's bearer token.
 *
 * @module
 */
import { backoffDelay, parseRetryAfter } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import type { TokenManager } from './manager.js';

export interface HttpClientOptions {
  /** Relative URLs are resolved against it. */
  readonly baseUrl?: string | URL | undefined;
  /** Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch | undefined;
  /** Headers added to every request (to allowed origins) unless the request sets them (e.g. `apikey`). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Retries after 429 (any method) or 503 (idempotent methods). Default 2. */
  readonly maxRetries?: number | undefined;
  /** A `Retry-After` longer than this (ms) is not waited for; the response is returned. Default 60 000. */
  readonly maxRetryAfterMs?: number | undefined;
  /** Default the system clock (used for waits). */
  readonly clock?: Clock | undefined;
  /**
   * Origins (`https://api.example.com`) the token may be sent to; requests elsewhere go out without it.
   * Default: every origin.
   */
  readonly origins?: readonly (string | URL)[] | undefined;
}

/** A `fetch` that authenticates its requests. */
export type AuthenticatedFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * Wraps `fetch`: adds `Authorization` from `manager` (refreshing before expiry), and after a 401 asks
 * the manager for a new token once — {@link TokenManager.forceRefresh} with the rejected token, so 200
 * requests rejected together cause one refresh — then retries. 429 (and 503 for idempotent methods) are
 * retried up to `maxRetries` times after the server's `Retry-After`, or a jittered backoff without one.
 * Responses are returned as they are; a request whose body is a stream is sent once.
 *
 * @example
 * ```ts
 * const api = createHttpClient(manager, { baseUrl: 'http://127.0.0.1:8000' });
 * const me = await (await api('/auth/v1/user')).json();
 * ```
 */
export function createHttpClient(manager: TokenManager, options: HttpClientOptions = {}): AuthenticatedFetch {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const maxRetries = options.maxRetries ?? 2;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const clock = options.clock ?? systemClock;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) throw new TypeError('maxRetries must be an integer >= 0');
  const baseUrl = options.baseUrl === undefined ? undefined : new URL(options.baseUrl);
  const origins = options.origins === undefined ? undefined : new Set(options.origins.map((origin) => new URL(origin).origin));

  return async (input, init = {}) => {
    const original = input instanceof Request ? input : new Request(new URL(input, baseUrl), init);
    const request = input instanceof Request && Object.keys(init).length > 0 ? new Request(input, init) : original;
    const replayable = request.body === null || !(init.body instanceof ReadableStream);
    const body = request.body === null ? null : replayable ? await request.arrayBuffer() : request.body;
    const method = request.method.toUpperCase();
    const presetAuthorization = request.headers.has('authorization');
    const allowed = origins === undefined || origins.has(new URL(request.url).origin);

    const send = async (authorization: string | undefined): Promise<Response> => {
      const headers = new Headers(request.headers);
      if (allowed) for (const [name, value] of Object.entries(options.headers ?? {})) if (!headers.has(name)) headers.set(name, value);
      if (authorization !== undefined) headers.set('authorization', authorization);
      return fetchImpl(request.url, {
        method,
        headers,
        body,
        redirect: request.redirect,
        signal: request.signal,
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
      });
    };

    let tokens = presetAuthorization || !allowed ? undefined : await manager.getTokens();
    let response = await send(tokens?.authorizationHeader);
    let refreshed = false;
    for (let retries = 0; ; ) {
      if (response.status === 401 && tokens && !refreshed && replayable) {
        refreshed = true;
        await response.body?.cancel().catch(() => undefined);
        tokens = await manager.forceRefresh(tokens.accessToken);
        response = await send(tokens.authorizationHeader);
        continue;
      }
      const retryable = response.status === 429 || (response.status === 503 && IDEMPOTENT.has(method));
      if (!retryable || retries >= maxRetries || !replayable) return response;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), clock.now());
      const delay = retryAfter !== undefined ? retryAfter * 1000 : backoffDelay(retries, 500, 8000);
      if (delay > maxRetryAfterMs) return response;
      retries += 1;
      await response.body?.cancel().catch(() => undefined);
      await clock.sleep(delay);
      if (tokens) tokens = await manager.getTokens();
      response = await send(tokens?.authorizationHeader);
    }
  };
}
