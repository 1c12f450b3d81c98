import type { Broker } from './broker/types.js';

/** What the hub writes to: one connection. */
export interface Subscriber {
  /** Writes an encoded frame (already a complete `{"push":…}` text). */
  write(frame: Buffer): void;
}

interface ChannelEntry {
  /** Subscribers receiving every publication. */
  readonly all: Set<Subscriber>;
  /** Subscribers that also get join/leave pushes. */
  readonly joinLeave: Set<Subscriber>;
  /** Subscribers whose subscribe reply is not written yet; their frames wait in `held`. */
  readonly pending: Map<Subscriber, Buffer[]>;
  /** Resolves once the broker delivers this channel to this node. */
  readonly ready: Promise<void>;
}

/**
 * This node's channel → subscribers index. A publication arrives once per channel as bytes and is
 * written to each subscriber as is: encoding never happens per subscriber.
 */
export class Hub {
  readonly #channels = new Map<string, ChannelEntry>();
  constructor(readonly broker: Broker) {}

  get channelCount(): number {
    return this.#channels.size;
  }

  /**
   * Reserves a place for `subscriber` on `channel` and waits until the broker delivers the channel.
   * Frames that arrive meanwhile are held; {@link activate} writes them after the subscribe reply.
   */
  async reserve(channel: string, subscriber: Subscriber): Promise<void> {
    let entry = this.#channels.get(channel);
    if (!entry) {
      entry = { all: new Set(), joinLeave: new Set(), pending: new Map(), ready: this.broker.subscribe(channel) };
      entry.ready.catch(() => undefined);
      this.#channels.set(channel, entry);
    }
    entry.pending.set(subscriber, []);
    try {
      await entry.ready;
    } catch (error) {
      this.remove(channel, subscriber);
      throw error;
    }
  }

  /** Moves a reserved subscriber to live delivery, flushing frames held since {@link reserve}. */
  activate(channel: string, subscriber: Subscriber, joinLeave: boolean): void {
    const entry = this.#channels.get(channel);
    if (!entry) return;
    const held = entry.pending.get(subscriber);
    entry.pending.delete(subscriber);
    entry.all.add(subscriber);
    if (joinLeave) entry.joinLeave.add(subscriber);
    if (held) for (const frame of held) subscriber.write(frame);
  }

  /** Removes `subscriber`; the broker subscription ends with the channel's last local subscriber. */
  remove(channel: string, subscriber: Subscriber): void {
    const entry = this.#channels.get(channel);
    if (!entry) return;
    entry.all.delete(subscriber);
    entry.joinLeave.delete(subscriber);
    entry.pending.delete(subscriber);
    if (entry.all.size === 0 && entry.pending.size === 0) {
      this.#channels.delete(channel);
      void this.broker.unsubscribe(channel).catch(() => undefined);
    }
  }

  /** Writes `frame` to the channel's local subscribers (`joinLeave`: only those who asked for it). */
  deliver(channel: string, frame: Buffer, joinLeave: boolean): void {
    const entry = this.#channels.get(channel);
    if (!entry) return;
    for (const subscriber of joinLeave ? entry.joinLeave : entry.all) subscriber.write(frame);
    if (entry.pending.size > 0 && !joinLeave) for (const held of entry.pending.values()) held.push(frame);
  }
}
