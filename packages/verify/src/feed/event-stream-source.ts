/**
 * The identity service's revocation event stream (`GET /auth/v1/revocations`, `text/event-stream`),
 * followed with `fetch`: resumes after the last event id on every reconnection, reconnects with
 * backoff, and treats a silent connection (no heartbeat) as broken.
 *
 * @module
 */
import { RevocationFeedUnauthorizedError, RevocationFeedUnavailableError, VerifyError } from '../errors.js';
import { parseRevocationEvent } from '../revocation-events.js';
import { Backoff, sleep, type BackoffOptions } from './backoff.js';
import { EventStreamParser, type EventStreamMessage } from './event-stream.js';
import { checkEndpoint, feedHeaders, statusError, type FeedEndpoint } from './http.js';
import type { RevocationSink, RevocationSource } from './source.js';

/** Options of {@link eventStreamSource}. */
export interface EventStreamSourceOptions extends FeedEndpoint {
  /** Reconnection delays. Defaults: 250 ms doubling up to 15 s, with jitter. */
  readonly backoff?: BackoffOptions;
  /**
   * Milliseconds without any byte (the endpoint sends a heartbeat every 15 s) after which the
   * connection is considered broken and reopened. Default is 45000 (45 seconds).
   */
  readonly idleTimeout?: number;
}

/**
 * A source following the identity service's revocation event stream.
 *
 * @example
 * ```ts
 * const source = eventStreamSource({ url: 'https://id.example.com/auth/v1/revocations', serviceKey });
 * const feed = createRevocationFeed({ source });
 * ```
 */
export function eventStreamSource(options: EventStreamSourceOptions): RevocationSource {
  const endpoint = checkEndpoint(options);
  const backoff = new Backoff(options.backoff);
  const idleTimeout = options.idleTimeout ?? 45_000;
  if (!Number.isFinite(idleTimeout) || idleTimeout <= 0) throw new TypeError('`idleTimeout` must be a positive number of milliseconds');
  const stopping = new AbortController();
  let loop: Promise<void> | undefined;

  async function follow(sink: RevocationSink, lastEventId: () => string | null): Promise<void> {
    let attempt = 0;
    while (!stopping.signal.aborted) {
      let wentLive = false;
      try {
        await connect(sink, lastEventId(), () => {
          wentLive = true;
          attempt = 0;
        });
      } catch (error) {
        if (stopping.signal.aborted) return;
        const failure = error instanceof VerifyError ? error : new RevocationFeedUnavailableError('revocation feed unreachable', error);
        sink.down(failure);
        const delay = failure instanceof RevocationFeedUnauthorizedError ? backoff.maxDelay : backoff.delay(wentLive ? 0 : attempt);
        attempt += 1;
        await sleep(delay, stopping.signal);
      }
    }
  }

  async function connect(sink: RevocationSink, after: string | null, onLive: () => void): Promise<void> {
    const connection = new AbortController();
    const abort = () => connection.abort();
    stopping.signal.addEventListener('abort', abort, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    let silent = false;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        silent = true;
        connection.abort();
      }, idleTimeout);
      idle.unref?.();
    };
    try {
      armIdle();
      const headers = feedHeaders(endpoint.serviceKey, 'text/event-stream');
      if (after !== null) headers['last-event-id'] = after;
      const response = await endpoint.fetch(endpoint.url, { headers, signal: connection.signal, cache: 'no-store' });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw statusError(response.status);
      }
      const type = response.headers.get('content-type') ?? '';
      if (!type.toLowerCase().startsWith('text/event-stream') || response.body === null) {
        await response.body?.cancel().catch(() => undefined);
        throw new RevocationFeedUnavailableError('revocation feed answered something other than an event stream');
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const parser = new EventStreamParser();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        armIdle();
        let messages: EventStreamMessage[];
        try {
          messages = parser.push(decoder.decode(value, { stream: true }));
        } catch (error) {
          throw new RevocationFeedUnavailableError('revocation feed sent a broken event stream', error);
        }
        for (const message of messages) deliver(sink, message, onLive);
      }
      throw new RevocationFeedUnavailableError('revocation feed closed the connection');
    } catch (error) {
      if (silent) throw new RevocationFeedUnavailableError(`revocation feed silent for ${idleTimeout} ms`);
      throw error;
    } finally {
      clearTimeout(idle);
      stopping.signal.removeEventListener('abort', abort);
      connection.abort();
    }
  }

  function deliver(sink: RevocationSink, message: EventStreamMessage, onLive: () => void): void {
    if (message.event === 'ready') {
      onLive();
      sink.live();
      return;
    }
    if (message.event !== 'revocation') return;
    let json: unknown;
    try {
      json = JSON.parse(message.data);
    } catch {
      sink.malformed();
      return;
    }
    const event = parseRevocationEvent(json);
    if (event === null) sink.malformed();
    else sink.event(event);
  }

  return {
    start(sink, lastEventId) {
      if (loop !== undefined) throw new Error('source already started');
      loop = follow(sink, lastEventId);
    },
    async close() {
      stopping.abort();
      await loop;
    },
  };
}
