import type { RevocationEvent, RevocationKind } from '@latchkey/verify';
import type { Queryable } from '../db/index.js';

export type { RevocationEvent, RevocationKind };

/** What a change that ends access records: the kind and the selectors of the tokens it refuses. */
export interface RevocationInput {
  readonly kind: RevocationKind;
  readonly userId?: string | undefined;
  readonly sessionIds?: readonly string[] | undefined;
  readonly organizationId?: string | undefined;
  readonly clientId?: string | undefined;
}

/** The part of {@link Revocations} that writes events: enough for code that ends access. */
export type RevocationRecorder = Pick<Revocations, 'record' | 'announce'>;

/** Called for every event, from this node or another, once per event id. */
export type RevocationListener = (event: RevocationEvent) => void;

/**
 * Session end as an event. One instance per process, built at the composition root and passed to the
 * services: the identity service and organizations write events, the gateway and the revocation feed
 * listen.
 *
 * Events are stored (`auth.revocation_events`), so a node that was down catches up, and broadcast
 * through the broker (Redis when configured, in-process otherwise).
 */
export interface Revocations {
  /**
   * Stores the event in `tx`, the transaction that makes the change, and returns it. Call
   * {@link Revocations.announce} with the result after the transaction commits.
   */
  record(tx: Queryable, input: RevocationInput): Promise<RevocationEvent>;
  /** Broadcasts recorded events to every node and to local listeners. */
  announce(...events: readonly RevocationEvent[]): Promise<void>;
  /** {@link Revocations.record} in a transaction of its own, then {@link Revocations.announce}. */
  emit(input: RevocationInput): Promise<RevocationEvent>;
  /** Adds a listener for every event seen by this node (deduplicated by id). Returns the unsubscribe function. */
  subscribe(listener: RevocationListener): () => void;
  /** Stored events with an id greater than `after` (all unexpired ones when `null`), oldest first. */
  since(after: string | null, limit?: number): Promise<RevocationEvent[]>;
  /** Stops broker subscriptions and timers. */
  close(): Promise<void>;
}
