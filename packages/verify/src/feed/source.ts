/**
 * Where a revocation feed gets its events: the identity service's event stream, Redis pub/sub, or an
 * object in the same process. A source delivers parsed events to a sink and says when it is current.
 *
 * @module
 */
import type { VerifyError } from '../errors.js';
import type { RevocationEvent } from '../revocation-events.js';

/** What a source reports to the feed. */
export interface RevocationSink {
  /** A well-formed event (delivered at least once; the feed ignores ids it already holds). */
  event(event: RevocationEvent): void;
  /** A message that was not a well-formed event was ignored. */
  malformed(): void;
  /** Everything stored up to now has been delivered; live events follow. */
  live(): void;
  /** The source lost its connection (it reconnects by itself); `error` says why. */
  down(error: VerifyError): void;
}

/**
 * A source of revocation events. `start` is called once by the feed; the source reconnects by itself
 * until `close`.
 */
export interface RevocationSource {
  /**
   * Starts delivering to `sink`. `lastEventId()` is the highest event id the feed holds (`null`
   * before the first): a source that can resume asks for the events after it.
   */
  start(sink: RevocationSink, lastEventId: () => string | null): void;
  /** Stops delivering and releases connections and timers. */
  close(): Promise<void>;
}

/** Compares two decimal event ids numerically. */
export function compareEventIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
