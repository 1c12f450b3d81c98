import { DEFAULT_MAX_JSON_DEPTH, scanJsonText } from '../../input/index.js';
import { COMMAND_KEYS, type Command, type CommandKind, type ErrorBody, type Push } from './types.js';

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
