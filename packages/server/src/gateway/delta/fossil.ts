import { createDelta } from 'fossil-delta';

/** A publication's parts as delta subscribers need them: data and info as JSON text, and the previous data. */
export interface PublicationParts {
  readonly data: string;
  readonly info?: string | undefined;
  /** The data of the channel's previous publication, when the publication was sent with delta. */
  readonly prev?: string | undefined;
}

/** The frames for subscribers that negotiated fossil deltas: a full one, and the delta one for those that had the previous. */
export interface DeltaFrames {
  /** Data as a JSON string (`delta` absent): what a delta subscriber gets first. */
  readonly full: Buffer;
  /** Data as a fossil delta against the previous publication (`"delta":true`), or {@link full} when none is smaller. */
  readonly delta: Buffer;
}

/**
 * The fossil delta from `prev` to `data` (UTF-8 bytes) as the text the JSON protocol carries, or `null` when
 * sending the full data is as small (or the delta's bytes are not valid UTF-8 text).
 */
export function fossilPatch(prev: string, data: string): string | null {
  const target = Buffer.from(data);
  const patch = Buffer.from(createDelta(Buffer.from(prev), target));
  if (patch.length >= target.length) return null;
  const text = patch.toString('utf8');
  return Buffer.byteLength(text) === patch.length ? text : null;
}

function frame(channel: string, data: string, info: string | undefined, offset: number, delta: boolean): Buffer {
  const infoPart = info === undefined ? '' : `,"info":${info}`;
  const offsetPart = offset > 0 ? `,"offset":${offset}` : '';
  return Buffer.from(`{"push":{"channel":${JSON.stringify(channel)},"pub":{"data":${JSON.stringify(data)}${infoPart}${offsetPart}${delta ? ',"delta":true' : ''}}}}`);
}

/** Builds the frames for delta subscribers of one publication (once per channel, not per subscriber). */
export function deltaFrames(channel: string, offset: number, parts: PublicationParts): DeltaFrames {
  const full = frame(channel, parts.data, parts.info, offset, false);
  const patch = parts.prev === undefined ? null : fossilPatch(parts.prev, parts.data);
  return { full, delta: patch === null ? full : frame(channel, patch, parts.info, offset, true) };
}

/** The parts of a publication frame the gateway encoded (used when a frame arrives without them). */
export function partsOfFrame(bytes: Buffer): { channel: string; offset: number; parts: PublicationParts } | null {
  try {
    const push = (JSON.parse(bytes.toString('utf8')) as { push?: { channel?: string; pub?: { data?: unknown; info?: unknown; offset?: number } } }).push;
    if (!push?.pub || typeof push.channel !== 'string') return null;
    const info = push.pub.info === undefined ? undefined : JSON.stringify(push.pub.info);
    return { channel: push.channel, offset: push.pub.offset ?? 0, parts: { data: JSON.stringify(push.pub.data ?? null), info } };
  } catch {
    return null;
  }
}
