import type { Broker } from './broker/types.js';
import { partsOfFrame, type DeltaFrames, type PublicationParts } from './delta/fossil.js';
import type { StreamPosition } from './history/types.js';
import type { ProtocolCodec } from './protocol/codec.js';
import type { Activation, ChannelHub, Subscriber } from './session/contracts.js';

export type { Activation, Subscriber } from './session/contracts.js';

/** A frame held for a subscriber whose subscribe reply is not written yet. */
interface HeldFrame {
  readonly frame: Buffer;
  /** Offset in the channel's stream (0: not a stream publication). */
  readonly offset: number;
  readonly parts: PublicationParts | undefined;
}

interface ChannelEntry {
  /** Subscribers receiving every publication (those with deltas are in {@link delta} instead). */
  readonly all: Set<Subscriber>;
  /** Subscribers with fossil deltas, and whether they have the previous publication (the next may be a delta). */
  readonly delta: Map<Subscriber, boolean>;
  /** Subscribers that also get join/leave pushes. */
  readonly joinLeave: Set<Subscriber>;
  /** Subscribers whose subscribe reply is not written yet; their frames wait in `held`. */
  readonly pending: Map<Subscriber, HeldFrame[]>;
  /** Subscribers that follow the stream's offsets: a gap ends their connection with 3010. */
  readonly positioned: Set<Subscriber>;
  /** Offset of the last stream publication this node delivered on the channel (0: none yet). */
  lastOffset: number;
  /** Highest position a positioned subscriber was activated at (its reply accounted for everything up to it). */
  activatedAt: number;
  /** The stream's epoch as the latest positioned subscriber was told it ('' unknown). */
  epoch: string;
  /** Resolves once the broker delivers this channel to this node. */
  readonly ready: Promise<void>;
  /** Publications that arrived in this turn of the event loop, written together at its end. */
  batch: Buffer[];
  batchBytes: number;
}

/** Largest batch before it is written at once (bytes). */
const MAX_BATCH_BYTES = 64 * 1024;

/**
 * Broker frames (JSON pushes) in each wire format, each encoded at most once however many subscribers
 * of that format there are.
 */
class Encodings {
  #json: Buffer | undefined;
  #other: Buffer | undefined;
  constructor(readonly frames: readonly Buffer[]) {}
  for(codec: ProtocolCodec): Buffer {
    if (codec.format === 'json') return (this.#json ??= codec.fromBroker(this.frames));
    return (this.#other ??= codec.fromBroker(this.frames));
  }
}

/**
 * This node's channel → subscribers index. A publication arrives once per channel as bytes and is
 * written to each subscriber as is: encoding never happens per subscriber. Publications arriving in the
 * same turn of the event loop are joined once per channel into one frame (as Centrifugo's write queue
 * merges messages), so a burst costs one write per subscriber, not one per publication.
 */
export class Hub implements ChannelHub {
  readonly #channels = new Map<string, ChannelEntry>();
  readonly #dirty = new Set<ChannelEntry>();
  #flushScheduled = false;
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
      entry = { all: new Set(), delta: new Map(), joinLeave: new Set(), pending: new Map(), positioned: new Set(), lastOffset: 0, activatedAt: 0, epoch: '', ready: this.broker.subscribe(channel), batch: [], batchBytes: 0 };
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

  /**
   * Moves a reserved subscriber to live delivery, flushing frames held since {@link reserve}. With a
   * `position` (the last offset its subscribe reply accounted for), the subscriber follows the stream:
   * held publications up to `position` are skipped (the reply carried them), and it returns false,
   * activating nothing, when the held ones do not continue from `position`.
   */
  activate(channel: string, subscriber: Subscriber, { joinLeave, position, delta, epoch }: Activation): boolean {
    const entry = this.#channels.get(channel);
    if (!entry) return true;
    // Frames batched before activation went to the held list too: write the batch to the others first.
    this.#flush(entry);
    const held = entry.pending.get(subscriber) ?? [];
    let next = position === null ? 0 : position + 1;
    const toWrite: Buffer[] = [];
    for (const { frame, offset, parts } of held) {
      if (position !== null && offset > 0) {
        if (offset < next) continue;
        if (offset > next) {
          this.remove(channel, subscriber);
          return false;
        }
        next += 1;
      }
      // A delta subscriber gets held publications in full.
      const codec = subscriber.codec;
      toWrite.push(delta === null ? codec.fromBroker([frame]) : codec.deltaFrames(channel, offset, parts ?? partsOfFrame(frame)?.parts ?? { data: 'null' }).full);
    }
    entry.pending.delete(subscriber);
    if (delta === null) entry.all.add(subscriber);
    else entry.delta.set(subscriber, delta || toWrite.length > 0);
    if (joinLeave) entry.joinLeave.add(subscriber);
    if (position !== null) {
      entry.positioned.add(subscriber);
      entry.activatedAt = Math.max(entry.activatedAt, position);
      if (epoch !== undefined && epoch !== '') entry.epoch = epoch;
    }
    for (const frame of toWrite) subscriber.write(frame);
    return true;
  }

  /** Removes `subscriber`; the broker subscription ends with the channel's last local subscriber. */
  remove(channel: string, subscriber: Subscriber): void {
    const entry = this.#channels.get(channel);
    if (!entry) return;
    entry.all.delete(subscriber);
    entry.delta.delete(subscriber);
    entry.joinLeave.delete(subscriber);
    entry.pending.delete(subscriber);
    entry.positioned.delete(subscriber);
    if (entry.all.size === 0 && entry.delta.size === 0 && entry.pending.size === 0) {
      this.#channels.delete(channel);
      this.#dirty.delete(entry);
      entry.batch = [];
      void this.broker.unsubscribe(channel).catch(() => undefined);
    }
  }

  /**
   * Writes `frame` to the channel's local subscribers (`joinLeave`: only those who asked for it).
   * A stream publication (`offset` > 0) that does not follow the last one ends the positioned
   * subscribers' connections: they missed something and recover when they reconnect. `parts` (data,
   * info, previous data) serve subscribers with fossil deltas.
   */
  deliver(channel: string, frame: Buffer, joinLeave: boolean, offset = 0, parts?: PublicationParts): void {
    const entry = this.#channels.get(channel);
    if (!entry) return;
    if (offset > 0) {
      if (entry.lastOffset > 0 && offset !== entry.lastOffset + 1 && entry.positioned.size > 0) {
        this.#flush(entry);
        for (const subscriber of [...entry.positioned]) subscriber.lostPosition(channel);
      }
      entry.lastOffset = offset;
    }
    if (joinLeave) {
      // Rare: keep order with publications already batched, then write directly.
      this.#flush(entry);
      const encodings = new Encodings([frame]);
      for (const subscriber of entry.joinLeave) subscriber.write(encodings.for(subscriber.codec));
      return;
    }
    if (entry.pending.size > 0) for (const held of entry.pending.values()) held.push({ frame, offset, parts });
    if (entry.delta.size > 0) this.#deliverDeltas(entry, channel, frame, offset, parts);
    entry.batch.push(frame);
    entry.batchBytes += frame.length;
    if (entry.batchBytes >= MAX_BATCH_BYTES) {
      this.#flush(entry);
      return;
    }
    this.#dirty.add(entry);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flushAll());
    }
  }

  /**
   * After the broker lost and restored its connection: compares each positioned channel's stream with
   * what this node delivered, and tells the positioned subscribers of a channel that moved on without
   * them (publications made before the node subscribed again) or whose stream was lost (a new epoch) —
   * they subscribe again and recover, as when live offsets jump. `settleMs`: how long a publication the
   * stream already has may still be on its way through pub/sub before it counts as missed.
   */
  async resync(read: (channel: string) => Promise<StreamPosition>, settleMs = 250): Promise<void> {
    const checks = [...this.#channels].filter(([, entry]) => entry.positioned.size > 0);
    await Promise.all(
      checks.map(async ([channel, entry]) => {
        const before = Math.max(entry.lastOffset, entry.activatedAt);
        const top = await read(channel);
        if (this.#channels.get(channel) !== entry) return;
        let lost = (entry.epoch !== '' && top.epoch !== entry.epoch) || top.offset < before;
        if (!lost && top.offset > Math.max(entry.lastOffset, entry.activatedAt)) {
          await new Promise((resolve) => setTimeout(resolve, settleMs));
          lost = this.#channels.get(channel) === entry && top.offset > Math.max(entry.lastOffset, entry.activatedAt);
        }
        if (!lost) return;
        if (top.epoch !== entry.epoch) {
          // A new stream: its offsets start again, the next one continues from its top.
          entry.lastOffset = top.offset;
          entry.activatedAt = top.offset;
        }
        entry.epoch = top.epoch;
        this.#flush(entry);
        for (const subscriber of [...entry.positioned]) subscriber.lostPosition(channel);
      }),
    );
  }

  /** Encodes the publication once per format for delta subscribers: a delta for those with the previous one, in full for the rest. */
  #deliverDeltas(entry: ChannelEntry, channel: string, frame: Buffer, offset: number, parts: PublicationParts | undefined): void {
    const publication = parts ?? partsOfFrame(frame)?.parts ?? { data: 'null' };
    let json: DeltaFrames | undefined;
    let other: DeltaFrames | undefined;
    for (const [subscriber, ready] of entry.delta) {
      const codec = subscriber.codec;
      const frames = codec.format === 'json' ? (json ??= codec.deltaFrames(channel, offset, publication)) : (other ??= codec.deltaFrames(channel, offset, publication));
      subscriber.write(ready ? frames.delta : frames.full);
      if (!ready) entry.delta.set(subscriber, true);
    }
  }

  #flush(entry: ChannelEntry): void {
    if (entry.batch.length === 0) return;
    const encodings = new Encodings(entry.batch);
    entry.batch = [];
    entry.batchBytes = 0;
    this.#dirty.delete(entry);
    for (const subscriber of entry.all) subscriber.write(encodings.for(subscriber.codec));
  }

  #flushAll(): void {
    this.#flushScheduled = false;
    for (const entry of this.#dirty) this.#flush(entry);
    this.#dirty.clear();
  }
}
