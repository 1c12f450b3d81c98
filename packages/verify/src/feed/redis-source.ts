/**
 * Revocation events from Redis pub/sub: the channel the identity service publishes every event on.
 * Pub/sub keeps no history, so events published while this process was not subscribed are read from
 * the feed's JSON form when `catchUp` is configured.
 *
 * @module
 */
import { RevocationFeedUnavailableError, VerifyError } from '../errors.js';
import { parseRevocationEvent } from '../revocation-events.js';
import { fetchRevocations, type FeedEndpoint } from './http.js';
import type { RevocationSource } from './source.js';

/**
 * The part of an ioredis client the source uses. Pass a connection of its own (`redis.duplicate()`):
 * a subscribed connection cannot run other commands.
 */
export interface RedisSubscriber {
  /** ioredis' connection status (`'ready'` when connected). */
  readonly status?: string;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'ready' | 'close', listener: () => void): unknown;
  off(event: 'message', listener: (channel: string, message: string) => void): unknown;
  off(event: 'ready' | 'close', listener: () => void): unknown;
}

/** Options of {@link redisRevocationSource}. */
export interface RedisRevocationSourceOptions {
  /**
   * The channel the identity service publishes on: `<LATCHKEY_REDIS_PREFIX>.revocations`. Default is
   * `latchkey.revocations`.
   */
  readonly channel?: string;
  /**
   * The feed endpoint to read missed events from after (re)subscribing. Without it, events published
   * while the connection was down are not seen.
   */
  readonly catchUp?: FeedEndpoint;
}

/** The default channel of {@link redisRevocationSource}. */
export const DEFAULT_REVOCATION_CHANNEL = 'latchkey.revocations';

/**
 * A source listening on Redis pub/sub. Each message is a JSON array of events (as the identity
 * service publishes them) or a single event; entries that are not well-formed events are ignored. It is current once
 * subscribed (and caught up through `catchUp`), down while ioredis reconnects; ioredis subscribes
 * again by itself, after which the source catches up again.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * const source = redisRevocationSource(new Redis(process.env.REDIS_URL), {
 *   catchUp: { url: 'https://id.example.com/auth/v1/revocations', serviceKey },
 * });
 * const feed = createRevocationFeed({ source });
 * ```
 */
export function redisRevocationSource(redis: RedisSubscriber, options: RedisRevocationSourceOptions = {}): RevocationSource {
  if (typeof redis?.subscribe !== 'function' || typeof redis.on !== 'function') throw new TypeError('an ioredis client is required');
  const channel = options.channel ?? DEFAULT_REVOCATION_CHANNEL;
  if (typeof channel !== 'string' || channel === '') throw new TypeError('`channel` must be a non-empty string');
  const catchUp = options.catchUp;
  let started = false;
  let closed = false;
  let generation = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const detach: Array<() => void> = [];

  return {
    start(sink, lastEventId) {
      if (started) throw new Error('source already started');
      started = true;
      const onMessage = (from: string, message: string) => {
        if (from !== channel) return;
        let json: unknown;
        try {
          json = JSON.parse(message);
        } catch {
          sink.malformed();
          return;
        }
        for (const entry of Array.isArray(json) ? json : [json]) {
          const event = parseRevocationEvent(entry);
          if (event === null) sink.malformed();
          else sink.event(event);
        }
      };
      // Where the next catch-up reads from: the last event id when the messages were last current, kept
      // across retries (a live message received meanwhile may be newer than events not yet read).
      let resumeAfter = lastEventId();
      let behind = true;
      // Subscribed (again): read what was missed, then the source is current.
      const current = async (): Promise<void> => {
        const mine = ++generation;
        clearTimeout(retry);
        try {
          if (catchUp !== undefined) {
            const { events, malformed } = await fetchRevocations({ ...catchUp, after: resumeAfter });
            if (closed || mine !== generation) return;
            for (const event of events) sink.event(event);
            for (let i = 0; i < malformed; i += 1) sink.malformed();
          }
          if (!closed && mine === generation) {
            behind = false;
            sink.live();
          }
        } catch (error) {
          if (closed || mine !== generation) return;
          sink.down(error instanceof VerifyError ? error : new RevocationFeedUnavailableError('revocation events unreadable', error));
          retry = setTimeout(() => void current(), 1000);
          retry.unref?.();
        }
      };
      // ioredis sends the resubscription before `ready` without waiting for it; subscribing once more
      // (idempotent) resolves only after Redis has processed it, so the catch-up cannot miss a gap.
      const onReady = () => {
        redis.subscribe(channel).then(
          () => void current(),
          (error: unknown) => {
            if (!closed) sink.down(new RevocationFeedUnavailableError('Redis subscription failed', error));
          },
        );
      };
      const onClose = () => {
        if (closed) return;
        generation += 1;
        clearTimeout(retry);
        if (!behind) resumeAfter = lastEventId();
        behind = true;
        sink.down(new RevocationFeedUnavailableError('Redis connection lost'));
      };
      redis.on('message', onMessage);
      redis.on('close', onClose);
      detach.push(() => redis.off('message', onMessage), () => redis.off('close', onClose));
      void redis.subscribe(channel).then(
        () => {
          if (closed) return;
          // From now on ioredis resubscribes after each reconnection and then emits `ready`.
          redis.on('ready', onReady);
          detach.push(() => redis.off('ready', onReady));
          void current();
        },
        (error: unknown) => {
          if (!closed) sink.down(new RevocationFeedUnavailableError('Redis subscription failed', error));
        },
      );
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      for (const undo of detach.splice(0)) undo();
      if (started) await redis.unsubscribe(channel).catch(() => undefined);
    },
  };
}
