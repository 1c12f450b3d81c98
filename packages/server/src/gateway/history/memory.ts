import { newEpoch, UnrecoverablePositionError, type HistoryPage, type HistoryQuery, type StoredPublication, type StreamOptions, type StreamPosition } from './types.js';

interface Stream {
  epoch: string;
  top: number;
  /** Oldest first; at most the namespace's `history_size`. */
  entries: StoredPublication[];
  /** Milliseconds: entries are dropped after this (history_ttl since the last publish). */
  entriesUntil: number;
  /** Milliseconds: the whole stream (offset, epoch) is forgotten after this; 0 = never. */
  metaUntil: number;
}

/**
 * Channel streams kept in this process (the memory engine). Expiry is checked when a stream is touched
 * and by {@link sweep}, which the node calls from its ticker.
 */
export class MemoryHistory {
  readonly #streams = new Map<string, Stream>();
  constructor(readonly now: () => number = Date.now) {}

  get size(): number {
    return this.#streams.size;
  }

  #stream(channel: string, metaTtl: number): Stream {
    const now = this.now();
    let stream = this.#streams.get(channel);
    if (stream && stream.metaUntil !== 0 && stream.metaUntil <= now) stream = undefined;
    if (!stream) {
      stream = { epoch: newEpoch(), top: 0, entries: [], entriesUntil: 0, metaUntil: 0 };
      this.#streams.set(channel, stream);
    }
    if (stream.entries.length > 0 && stream.entriesUntil <= now) stream.entries = [];
    stream.metaUntil = metaTtl > 0 ? now + metaTtl * 1000 : 0;
    return stream;
  }

  /** Appends a publication and returns its position (and, with `withPrevious`, the data of the one before, if kept). */
  append(channel: string, data: string, info: string | undefined, options: StreamOptions, withPrevious = false): StreamPosition & { prev?: string } {
    const stream = this.#stream(channel, options.metaTtl);
    const prev = withPrevious ? stream.entries[stream.entries.length - 1]?.data : undefined;
    stream.top += 1;
    stream.entries.push(info === undefined ? { offset: stream.top, data } : { offset: stream.top, data, info });
    if (stream.entries.length > options.size) {
      if (stream.entries.length === options.size + 1) stream.entries.shift();
      else stream.entries.splice(0, stream.entries.length - options.size);
    }
    stream.entriesUntil = this.now() + options.ttl * 1000;
    return prev === undefined ? { offset: stream.top, epoch: stream.epoch } : { offset: stream.top, epoch: stream.epoch, prev };
  }

  /** Reads publications; throws {@link UnrecoverablePositionError} when `since` names another epoch. */
  read(channel: string, query: HistoryQuery): HistoryPage {
    const stream = this.#stream(channel, query.metaTtl);
    const position = { offset: stream.top, epoch: stream.epoch };
    const page = { ...position, publications: selectPublications(stream.entries, stream.top, query) };
    if (query.since && query.since.epoch !== '' && query.since.epoch !== stream.epoch) throw new UnrecoverablePositionError(position);
    return page;
  }

  /** Drops a channel's publications (its offset and epoch stay). */
  remove(channel: string): void {
    const stream = this.#streams.get(channel);
    if (stream) stream.entries = [];
  }

  /** Forgets streams whose meta expired and drops expired publications. */
  sweep(): void {
    const now = this.now();
    for (const [channel, stream] of this.#streams) {
      if (stream.metaUntil !== 0 && stream.metaUntil <= now) this.#streams.delete(channel);
      else if (stream.entries.length > 0 && stream.entriesUntil <= now) stream.entries = [];
    }
  }
}

/**
 * The publications of `entries` (oldest first, ending at offset `top`) a query asks for: with `since`,
 * those after it (before it when reversed); without, from the oldest (newest when reversed). When
 * `since` is older than what is kept, the kept ones are returned and the caller sees the gap.
 */
export function selectPublications(entries: readonly StoredPublication[], top: number, query: HistoryQuery): StoredPublication[] {
  if (query.limit === 0 || entries.length === 0) return [];
  const first = entries[0]!.offset;
  let picked: StoredPublication[];
  if (query.since === undefined) {
    picked = query.reverse ? [...entries].reverse() : [...entries];
  } else if (query.reverse) {
    if (query.since.offset - 1 > top) return [];
    const end = query.since.offset - 1 - first; // index of offset since-1
    picked = end < 0 ? [] : entries.slice(0, end + 1).reverse();
  } else {
    if (query.since.offset >= top) return [];
    picked = entries.slice(Math.max(0, query.since.offset + 1 - first));
  }
  return query.limit > 0 ? picked.slice(0, query.limit) : picked;
}
