/**
 * `@latchkey/verify/revocations`: follow the identity service's revocation events and refuse the
 * access tokens of ended sessions, with no I/O per request.
 *
 * - {@link createRevocationFeed} holds the unexpired events and exposes `check` for the verifier's
 *   `revocation` option, plus `ready`, `state` and `close()`.
 * - Sources: the identity service's event stream (`url` + `serviceKey`, the default),
 *   {@link redisRevocationSource} (Redis pub/sub), {@link inProcessRevocationSource} (same process).
 * - {@link fetchRevocations} polls the feed's JSON form.
 *
 * @module
 */
export { createRevocationFeed, type RevocationFeed, type RevocationFeedOptions, type RevocationFeedState } from './feed.js';
export type { BackoffOptions } from './backoff.js';
export { eventStreamSource, type EventStreamSourceOptions } from './event-stream-source.js';
export { fetchRevocations, type FeedEndpoint, type FetchedRevocations, type FetchRevocationsOptions } from './http.js';
export { inProcessRevocationSource, type RevocationEmitter } from './in-process-source.js';
export { DEFAULT_REVOCATION_CHANNEL, redisRevocationSource, type RedisRevocationSourceOptions, type RedisSubscriber } from './redis-source.js';
export type { RevocationSink, RevocationSource } from './source.js';
export {
  RevocationFeedClosedError,
  RevocationFeedStaleError,
  RevocationFeedUnauthorizedError,
  RevocationFeedUnavailableError,
} from '../errors.js';
export { parseRevocationEvent, revocationMatches, type RevocationEvent, type RevocationKind } from '../revocation-events.js';
