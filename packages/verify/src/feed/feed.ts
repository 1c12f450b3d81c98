/**
 * `createRevocationFeed`: follows the identity service's revocation events and refuses the access
 * tokens they end, with a synchronous check to pass as the verifier's `revocation` option.
 *
 * @module
 */
import { RevocationFeedClosedError, RevocationFeedStaleError, RevocationFeedUnauthorizedError, type VerifyError } from '../errors.js';
import type { Claims } from '../jwt/claims.js';
import type { RevocationEvent } from '../revocation-events.js';
import type { BackoffOptions } from './backoff.js';
import { eventStreamSource } from './event-stream-source.js';
import { RevocationIndex } from './revocation-index.js';
import { compareEventIds, type RevocationSink, type RevocationSource } from './source.js';

/** Options of {@link createRevocationFeed}: either `url` + `serviceKey`, or a `source`. */
export interface RevocationFeedOptions {
  /** URL of the identity service's feed, e.g. `https://id.example.com/auth/v1/revocations`. */
  readonly url?: string | URL;
  /** The identity service's service_role key (sent as `Authorization: Bearer` and `apikey`). */
  readonly serviceKey?: string;
  /** The `fetch` to use with `url`. Default is the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Reconnection delays with `url`. Defaults: 250 ms doubling up to 15 s, with jitter. */
  readonly backoff?: BackoffOptions;
  /** With `url`: milliseconds without a byte after which the stream is reopened. Default is 45000. */
  readonly idleTimeout?: number;
  /** Another source instead of `url`: `redisRevocationSource(…)`, `inProcessRevocationSource(…)`. */
  readonly source?: RevocationSource;
  /**
   * Milliseconds the feed may be out of touch (not connected and current) before `check` fails
   * closed by throwing `RevocationFeedStaleError` (`ERR_REVOCATION_FEED_STALE`, temporary: the
   * adapters answer 503). Counted from creation until the first catch-up, then from each
   * disconnection. Default: never — while the feed is down, tokens it already knows to be revoked
   * stay refused and every other valid token is accepted.
   */
  readonly maxStaleness?: number;
  /** How often expired events are dropped, in milliseconds. Default is 60000 (1 minute). */
  readonly pruneInterval?: number;
  /** Clock in milliseconds since the epoch. Default is `Date.now`. */
  readonly now?: () => number;
}

/** What a feed reports about itself (a snapshot). */
export interface RevocationFeedState {
  /** `true` while the source is connected and has caught up. */
  readonly connected: boolean;
  /** Highest event id received; the feed resumes after it. `null` before the first event. */
  readonly lastEventId: string | null;
  /** The last connection failure (`ERR_REVOCATION_FEED_UNAUTHORIZED` or `…_UNAVAILABLE`), until the next catch-up. */
  readonly lastError: VerifyError | null;
  /** Unexpired events held. */
  readonly events: number;
  /** Messages ignored because they were not well-formed events. */
  readonly malformed: number;
  /** Since when (ms since the epoch) the feed has not been current; `null` while connected. */
  readonly staleSince: number | null;
  /** `true` after `close()`. */
  readonly closed: boolean;
}

/** A running revocation feed. */
export interface RevocationFeed {
  /**
   * The verifier's `revocation` option: `true` when a held event refuses the token. Synchronous, no
   * I/O: a few map lookups. Throws `RevocationFeedStaleError` only when `maxStaleness` is set and
   * exceeded (and no held event refuses the token).
   */
  readonly check: (claims: Claims) => boolean;
  /**
   * Resolves once the stored events have been read (the first catch-up). Rejects with
   * `RevocationFeedUnauthorizedError` when the feed refuses the service key before that, and with
   * `RevocationFeedClosedError` when the feed is closed first.
   */
  readonly ready: Promise<void>;
  /** Connection state, last event id and last error. */
  readonly state: RevocationFeedState;
  /** Stops following the source. `check` keeps answering from the events held. */
  close(): Promise<void>;
}

function positive(value: number | undefined, name: string): void {
  if (value !== undefined && (!Number.isFinite(value) || value <= 0)) throw new TypeError(`\`${name}\` must be a positive number of milliseconds`);
}

/**
 * Creates a revocation feed and starts following it.
 *
 * @example
 * ```ts
 * import { createVerifier } from '@latchkey/verify';
 * import { createRevocationFeed } from '@latchkey/verify/revocations';
 *
 * const feed = createRevocationFeed({ url: 'http://127.0.0.1:8000/auth/v1/revocations', serviceKey });
 * const verifier = createVerifier({ jwksUrl, issuer, audience: 'authenticated', revocation: feed.check });
 * await feed.ready; // optional: serve once the stored events are known
 * ```
 */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  if (typeof options !== 'object' || options === null) throw new TypeError('options are required');
  positive(options.maxStaleness, 'maxStaleness');
  positive(options.pruneInterval, 'pruneInterval');
  const now = options.now ?? Date.now;
  let source: RevocationSource;
  if (options.source !== undefined) {
    if (options.url !== undefined) throw new TypeError('give either `url` or `source`, not both');
    if (typeof options.source.start !== 'function') throw new TypeError('`source` must be a RevocationSource');
    source = options.source;
  } else {
    if (options.url === undefined) throw new TypeError('`url` (with `serviceKey`) or `source` is required');
    source = eventStreamSource({
      url: options.url,
      serviceKey: options.serviceKey as string,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.idleTimeout !== undefined ? { idleTimeout: options.idleTimeout } : {}),
    });
  }
  const maxStaleness = options.maxStaleness;
  const index = new RevocationIndex();
  let lastEventId: string | null = null;
  let lastError: VerifyError | null = null;
  let malformed = 0;
  let staleSince: number | null = now();
  let closed = false;
  let settled = false;
  let resolveReady: () => void = () => undefined;
  let rejectReady: (error: VerifyError) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // Nobody has to await `ready`; an unobserved rejection must not crash the process.
  ready.catch(() => undefined);

  const sink: RevocationSink = {
    event(event: RevocationEvent) {
      if (closed) return;
      if (lastEventId === null || compareEventIds(event.id, lastEventId) > 0) lastEventId = event.id;
      index.add(event, now() / 1000);
    },
    malformed() {
      malformed += 1;
    },
    live() {
      if (closed) return;
      staleSince = null;
      lastError = null;
      if (!settled) {
        settled = true;
        resolveReady();
      }
    },
    down(error) {
      if (closed) return;
      lastError = error;
      staleSince ??= now();
      if (!settled && error instanceof RevocationFeedUnauthorizedError) {
        settled = true;
        rejectReady(error);
      }
    },
  };

  const pruner = setInterval(() => index.prune(now() / 1000), options.pruneInterval ?? 60_000);
  pruner.unref?.();
  source.start(sink, () => lastEventId);

  function check(claims: Claims): boolean {
    if (index.matches(claims)) return true;
    if (maxStaleness !== undefined && staleSince !== null && now() - staleSince > maxStaleness) {
      throw new RevocationFeedStaleError(Math.max(1, Math.ceil(maxStaleness / 1000)), lastError ?? undefined);
    }
    return false;
  }

  return {
    check,
    ready,
    get state(): RevocationFeedState {
      return { connected: staleSince === null && !closed, lastEventId, lastError, events: index.size, malformed, staleSince, closed };
    },
    async close() {
      if (closed) return;
      closed = true;
      staleSince ??= now();
      clearInterval(pruner);
      if (!settled) {
        settled = true;
        rejectReady(new RevocationFeedClosedError());
      }
      await source.close();
    },
  };
}
