import { randomBytes } from 'node:crypto';

/** Where a channel's stream stands: the offset of its last publication and the stream's epoch. */
export interface StreamPosition {
  /** Offset of the newest publication (0 before the first). */
  readonly offset: number;
  /** Changes whenever the stream is lost (its meta expired or was never there), so old offsets mean nothing. */
  readonly epoch: string;
}

/** One publication as a stream keeps it: its offset, its data as JSON text and its publisher's info as JSON text. */
export interface StoredPublication {
  readonly offset: number;
  readonly data: string;
  readonly info?: string;
}

/** How long and how much a channel's stream keeps (from the namespace's `history_*` options). */
export interface StreamOptions {
  /** Publications kept (`history_size`). */
  readonly size: number;
  /** Seconds publications are kept after the last one (`history_ttl`). */
  readonly ttl: number;
  /** Seconds the stream's offset and epoch outlive the last publish or read (`history_meta_ttl`); 0 = forever. */
  readonly metaTtl: number;
}

/** How one publication goes into its stream and out to the nodes. */
export interface AppendOptions extends StreamOptions {
  /**
   * `plain`: nodes get the encoded frame only; `parts`: also its data and info (the namespace allows
   * deltas); `delta`: also the previous publication's data, so subscribers with deltas get a delta.
   */
  readonly delivery: 'plain' | 'parts' | 'delta';
}

/** A history read: publications after `since` (or from the start), at most `limit` (-1 = all, 0 = none). */
export interface HistoryQuery {
  readonly since?: StreamPosition;
  readonly limit: number;
  readonly reverse: boolean;
  readonly metaTtl: number;
}

export interface HistoryPage extends StreamPosition {
  readonly publications: readonly StoredPublication[];
}

/** The request's `since.epoch` is not the stream's epoch (error 112 on the wire). */
export class UnrecoverablePositionError extends Error {
  override readonly name = 'UnrecoverablePositionError';
  readonly code = 'ERR_GATEWAY_UNRECOVERABLE_POSITION';
  constructor(readonly position: StreamPosition) {
    super('stream position cannot be recovered');
  }
}

/** A fresh random epoch (short: it travels with every subscribe reply). */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/** A publication push's bytes up to its offset; the offset and {@link FRAME_END} complete it. */
export function publicationFramePrefix(channel: string, data: string, info: string | undefined): string {
  return `{"push":{"channel":${JSON.stringify(channel)},"pub":{"data":${data}${info === undefined ? '' : `,"info":${info}`},"offset":`;
}

/** Closes a frame started by {@link publicationFramePrefix}. */
export const FRAME_END = '}}}';
