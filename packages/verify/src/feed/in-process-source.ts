/**
 * A source for a verifier embedded in the process that produces the events (the identity service's
 * `Revocations`, or anything with the same `subscribe`/`since`).
 *
 * @module
 */
import { RevocationFeedUnavailableError } from '../errors.js';
import { parseRevocationEvent, type RevocationEvent } from '../revocation-events.js';
import type { RevocationSource } from './source.js';

/** What {@link inProcessRevocationSource} follows: `Revocations` of `@latchkey/server` fits. */
export interface RevocationEmitter {
  /** Calls `listener` for every new event; returns the function that stops it. */
  subscribe(listener: (event: RevocationEvent) => void): () => void;
  /** Stored events after `after` (every unexpired one for `null`), oldest first, at most `limit`. */
  since?(after: string | null, limit?: number): Promise<readonly RevocationEvent[]>;
}

const PAGE = 1000;

/**
 * Follows `emitter` in the same process: subscribes first, then reads the stored events (when the
 * emitter has `since`), so nothing that happens in between is missed. It is current as soon as the
 * stored events are read and never goes down; a failure to read them is reported and retried once a
 * second.
 *
 * @example
 * ```ts
 * const feed = createRevocationFeed({ source: inProcessRevocationSource(context.revocations) });
 * ```
 */
export function inProcessRevocationSource(emitter: RevocationEmitter): RevocationSource {
  if (typeof emitter?.subscribe !== 'function') throw new TypeError('the emitter must have `subscribe(listener)`');
  let unsubscribe: (() => void) | undefined;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  return {
    start(sink, lastEventId) {
      if (unsubscribe !== undefined) throw new Error('source already started');
      const accept = (value: unknown) => {
        const event = parseRevocationEvent(value);
        if (event === null) sink.malformed();
        else sink.event(event);
      };
      unsubscribe = emitter.subscribe(accept);
      const since = emitter.since?.bind(emitter);
      if (since === undefined) {
        sink.live();
        return;
      }
      // Where the stored events are read up to. Not `lastEventId()` on a retry: that may already be a
      // live event's id, newer than stored events not yet read.
      let after = lastEventId();
      const catchUp = async (): Promise<void> => {
        try {
          for (;;) {
            const page = await since(after, PAGE);
            for (const event of page) accept(event);
            const last = page.at(-1);
            if (last !== undefined) after = last.id;
            if (page.length < PAGE) break;
          }
          if (!closed) sink.live();
        } catch (error) {
          if (closed) return;
          sink.down(new RevocationFeedUnavailableError('stored revocation events unreadable', error));
          retry = setTimeout(() => void catchUp(), 1000);
          retry.unref?.();
        }
      };
      void catchUp();
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      unsubscribe?.();
    },
  };
}
