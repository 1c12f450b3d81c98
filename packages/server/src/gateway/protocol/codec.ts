import { DEFAULT_MAX_JSON_DEPTH, scanJsonText } from '../../input/index.js';
import { deltaFrames as jsonDeltaFrames, type DeltaFrames, type PublicationParts } from '../delta/fossil.js';
import { COMMAND_KEYS, type Command, type CommandKind, type ErrorBody, type Push } from './types.js';

/** The two encodings of the client protocol: JSON text frames or varint-delimited protobuf binary frames. */
export type WireFormat = 'json' | 'protobuf';

/**
 * One wire format of the client protocol. A connection gets its codec when its socket opens and hands it
 * every frame it receives and every reply and push it sends, so the rest of the gateway speaks in the
 * protocol's JSON-shaped objects ({@link Command}, results, {@link Push}) whatever the format.
 *
 * Publications travel between nodes encoded once in JSON (the broker's form); each node converts them
 * at most once per channel and format for its local subscribers ({@link fromBroker}, {@link deltaFrames}).
 */
export interface ProtocolCodec {
  readonly format: WireFormat;
  /** Whether WebSocket frames are binary (protobuf) or text (JSON). */
  readonly binary: boolean;
  /** Splits one WebSocket frame into commands. Throws {@link MalformedFrameError} for a frame that is not a list of commands. */
  decodeCommands(frame: Buffer): DecodedCommand[];
  /** A reply carrying the result of command `id` (the result key is always present, even for an empty result). */
  encodeResult(id: number, kind: CommandKind, result: object): Buffer;
  /** A reply carrying an error for command `id`. */
  encodeError(id: number, error: ErrorBody): Buffer;
  /** A push (server-initiated message). */
  encodePush(push: Push): Buffer;
  /** Several encoded replies and pushes as one WebSocket frame. */
  join(messages: readonly Buffer[]): Buffer;
  /** The server ping: an empty reply. The client answers with an empty command when `pong` was announced. */
  readonly ping: Buffer;
  /** Push frames as the broker carries them (JSON) as one frame of this format. */
  fromBroker(frames: readonly Buffer[]): Buffer;
  /** The frames of one publication for subscribers with fossil deltas, in this format. */
  deltaFrames(channel: string, offset: number, parts: PublicationParts): DeltaFrames;
}

/** A frame that is not a list of protocol commands (closes the connection with 3501). */
export class MalformedFrameError extends Error {
  override readonly name = 'MalformedFrameError';
  readonly code = 'ERR_GATEWAY_MALFORMED_FRAME';
}

/** A decoded command with the one request key it carries (or `null` for a pong: an empty command). */
export interface DecodedCommand {
  readonly id: number;
  readonly kind: CommandKind | null;
  readonly command: Command;
  /**
   * Set when the command is well-formed but one of its fields cannot be taken (a protobuf `data` that is
   * not JSON): the command is answered with this error instead of being run.
   */
  readonly refusal?: ErrorBody;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Splits a JSON text frame into commands (`\n`-joined JSON objects). Throws {@link MalformedFrameError}
 * for invalid JSON, non-objects, a bad `id`, a request that is not an object, or a command whose strings
 * hold NUL or unpaired surrogates or that nests deeper than 64 levels.
 */
export function decodeCommands(frame: string): DecodedCommand[] {
  const commands: DecodedCommand[] = [];
  for (const line of frame.split('\n')) {
    const text = line.trim();
    if (text === '') continue;
    if (scanJsonText(text, DEFAULT_MAX_JSON_DEPTH)) throw new MalformedFrameError('command holds NUL, an unpaired surrogate or nesting deeper than 64 levels');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new MalformedFrameError('frame is not JSON');
    }
    if (!isObject(parsed)) throw new MalformedFrameError('command is not an object');
    const id = parsed.id ?? 0;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new MalformedFrameError('bad command id');
    // The server takes the first request key present, in protocol order.
    let kind: CommandKind | null = null;
    for (const key of COMMAND_KEYS) {
      const request = parsed[key];
      if (request === undefined || request === null) continue;
      if (!isObject(request)) throw new MalformedFrameError(`${key} must be an object`);
      kind = key;
      break;
    }
    commands.push({ id, kind, command: parsed });
  }
  if (commands.length === 0) throw new MalformedFrameError('empty frame');
  return commands;
}

/** `{"id":N,"<kind>":<result>}` — the result key is always present, even for an empty result. */
export function encodeResult(id: number, kind: CommandKind, result: object): string {
  return `{"id":${id},"${kind}":${JSON.stringify(result)}}`;
}

/** `{"id":N,"error":{code,message,temporary?}}`. */
export function encodeError(id: number, error: ErrorBody): string {
  return `{"id":${id},"error":${JSON.stringify(error)}}`;
}

/** `{"push":{...}}`. */
export function encodePush(push: Push): string {
  return `{"push":${JSON.stringify(push)}}`;
}

/** The server ping: an empty reply. The client answers with an empty command when `pong` was announced. */
export const PING_FRAME = '{}';

const NEWLINE = Buffer.from('\n');

/** Joins JSON messages with newlines: the JSON protocol carries several in one WebSocket text frame. */
export function joinJsonMessages(messages: readonly Buffer[]): Buffer {
  if (messages.length === 1) return messages[0]!;
  const parts: Buffer[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (parts.length > 0) parts.push(NEWLINE);
    parts.push(message);
    bytes += message.length;
  }
  return Buffer.concat(parts, bytes + messages.length - 1);
}

/** The JSON protocol: `\n`-joined JSON objects in text frames; `data`-like fields are embedded JSON. */
export const JSON_CODEC: ProtocolCodec = {
  format: 'json',
  binary: false,
  decodeCommands: (frame) => decodeCommands(frame.toString('utf8')),
  encodeResult: (id, kind, result) => Buffer.from(encodeResult(id, kind, result)),
  encodeError: (id, error) => Buffer.from(encodeError(id, error)),
  encodePush: (push) => Buffer.from(encodePush(push)),
  join: joinJsonMessages,
  ping: Buffer.from(PING_FRAME),
  fromBroker: joinJsonMessages,
  deltaFrames: jsonDeltaFrames,
};
