/**
 * The HTTP side of the identity service's revocation feed: request headers, status handling, and the
 * JSON form of the feed for polling (`fetchRevocations`).
 *
 * @module
 */
import { RevocationFeedUnauthorizedError, RevocationFeedUnavailableError, type VerifyError } from '../errors.js';
import { parseRevocationEvent, type RevocationEvent } from '../revocation-events.js';

/** Where the feed is and how to authenticate to it. */
export interface FeedEndpoint {
  /** URL of the feed, e.g. `https://id.example.com/auth/v1/revocations`. */
  readonly url: string | URL;
  /** The identity service's service_role key. */
  readonly serviceKey: string;
  /** The `fetch` to use. Default is the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/** Internal: validates an endpoint eagerly. */
export function checkEndpoint(endpoint: FeedEndpoint): { url: URL; serviceKey: string; fetch: typeof fetch } {
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    throw new TypeError('`url` must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('`url` must be an absolute http(s) URL');
  if (typeof endpoint.serviceKey !== 'string' || endpoint.serviceKey === '') throw new TypeError('`serviceKey` is required');
  const fetchImpl = endpoint.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('`fetch` must be a function');
  return { url, serviceKey: endpoint.serviceKey, fetch: fetchImpl };
}

/** Internal: the headers every feed request carries. */
export function feedHeaders(serviceKey: string, accept: string): Record<string, string> {
  return { accept, authorization: `Bearer ${serviceKey}`, apikey: serviceKey };
}

/** Internal: the feed error for a non-2xx answer. */
export function statusError(status: number): VerifyError {
  if (status === 401 || status === 403) return new RevocationFeedUnauthorizedError(status);
  return new RevocationFeedUnavailableError(`revocation feed answered HTTP ${status}`);
}

/** Options of {@link fetchRevocations}. */
export interface FetchRevocationsOptions extends FeedEndpoint {
  /** Return events after this id; `null` or absent for every stored unexpired event. */
  readonly after?: string | null;
  /** Largest page to ask for. Default is 1000 (the endpoint's maximum). */
  readonly pageSize?: number;
  /** Aborts the requests. */
  readonly signal?: AbortSignal;
}

/** Result of {@link fetchRevocations}. */
export interface FetchedRevocations {
  /** Well-formed events, oldest first. */
  readonly events: RevocationEvent[];
  /** Entries that were not well-formed events and were left out. */
  readonly malformed: number;
}

/**
 * Polls the feed's JSON form (`GET <url>?format=json&after=<id>&limit=<n>`), page after page until
 * it is exhausted. Rejects with `RevocationFeedUnauthorizedError` for a refused key and
 * `RevocationFeedUnavailableError` otherwise.
 *
 * @example
 * ```ts
 * const { events } = await fetchRevocations({ url, serviceKey, after: lastSeenId });
 * ```
 */
export async function fetchRevocations(options: FetchRevocationsOptions): Promise<FetchedRevocations> {
  const endpoint = checkEndpoint(options);
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new TypeError('`pageSize` must be an integer from 1 to 1000');
  const events: RevocationEvent[] = [];
  let malformed = 0;
  let after = options.after ?? null;
  for (;;) {
    const url = new URL(endpoint.url);
    url.searchParams.set('format', 'json');
    url.searchParams.set('limit', String(pageSize));
    if (after !== null) url.searchParams.set('after', after);
    let page: unknown;
    try {
      const response = await endpoint.fetch(url, { headers: feedHeaders(endpoint.serviceKey, 'application/json'), ...(options.signal ? { signal: options.signal } : {}) });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw statusError(response.status);
      }
      page = await response.json();
    } catch (error) {
      if (error instanceof RevocationFeedUnauthorizedError || error instanceof RevocationFeedUnavailableError) throw error;
      throw new RevocationFeedUnavailableError('revocation feed unreachable', error);
    }
    if (!Array.isArray(page)) throw new RevocationFeedUnavailableError('revocation feed answered something other than a JSON array');
    let lastId: string | null = null;
    for (const entry of page) {
      const event = parseRevocationEvent(entry);
      if (event === null) malformed += 1;
      else events.push(event);
      const id = typeof entry === 'object' && entry !== null ? (entry as { id?: unknown }).id : undefined;
      if (typeof id === 'string' && /^[0-9]{1,19}$/.test(id)) lastId = id;
    }
    if (page.length < pageSize || lastId === null) return { events, malformed };
    after = lastId;
  }
}
