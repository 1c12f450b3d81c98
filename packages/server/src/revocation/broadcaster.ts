import type { RevocationEvent } from './types.js';

/** What a broadcaster calls back with. */
export interface BroadcastHandler {
  /** Events published by any node (this one included). */
  deliver(events: readonly RevocationEvent[]): void;
  /** The broker connection came back after a loss: messages may have been missed. */
  reconnected(): void;
}

/** Carries recorded events to every node. */
export interface RevocationBroadcaster {
  readonly kind: 'memory' | 'redis';
  start(handler: BroadcastHandler): Promise<void>;
  /** Sends events to every node. Rejects when the broker cannot take them (they are stored anyway). */
  publish(events: readonly RevocationEvent[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * One process only: the announcing node delivers its own events to its listeners, so there is
 * nothing to carry.
 */
export class MemoryBroadcaster implements RevocationBroadcaster {
  readonly kind = 'memory' as const;
  async start(): Promise<void> {}
  async publish(): Promise<void> {}
  async close(): Promise<void> {}
}
