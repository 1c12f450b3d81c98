import { createDelta } from 'fossil-delta';
import protobuf from 'protobufjs';
import { DEFAULT_MAX_JSON_DEPTH, findUnsafeValue, scanJsonText } from '../../input/index.js';
import type { DeltaFrames, PublicationParts } from '../delta/fossil.js';
import { CommandType, ReplyType } from './client-proto.js';
import { ERROR_MESSAGES, ErrorCode } from './codes.js';
import { MalformedFrameError, type DecodedCommand, type ProtocolCodec } from './codec.js';
import {
  COMMAND_KEYS,
  type ClientInfo,
  type Command,
  type CommandKind,
  type ConnectResult,
  type ErrorBody,
  type JsonValue,
  type Publication,
  type Push,
  type SubscribeResult,
} from './types.js';

/**
 * The protobuf protocol: each Command and Reply is a varint-length-delimited protobuf message, several
 * per binary WebSocket frame. `bytes` fields (`data`, `conn_info`, `chan_info`) carry the JSON text of
 * the value the JSON protocol embeds, so JSON and protobuf clients share channels: a protobuf client
 * sends JSON in its `data` fields, and one whose `data` is not JSON text gets error 107.
 */

/** A message as protobufjs encodes it: plain fields, `Uint8Array` for bytes, objects for maps. */
type ProtoObject = { [field: string]: unknown };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes a protobuf `data` field carries for a JSON value. */
function jsonBytes(value: JsonValue | undefined): Buffer | undefined {
  return value === undefined ? undefined : Buffer.from(JSON.stringify(value));
}

/** The JSON value of a protobuf `data` field, or `undefined` when its bytes are not JSON text. */
function jsonValueOf(bytes: Uint8Array): JsonValue | undefined {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
  if (scanJsonText(text, DEFAULT_MAX_JSON_DEPTH)) return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** One Reply, length-delimited. */
function encodeReply(reply: ProtoObject): Buffer {
  return toBuffer(ReplyType.encodeDelimited(reply).finish());
}

function clientInfo(info: ClientInfo): ProtoObject {
  return { user: info.user, client: info.client, conn_info: jsonBytes(info.conn_info), chan_info: jsonBytes(info.chan_info) };
}

/** `dataIsText`: the publication's data is already the JSON text (as the JSON protocol carries it to delta subscribers). */
function publication(pub: Publication, dataIsText: boolean): ProtoObject {
  const data = dataIsText && typeof pub.data === 'string' ? Buffer.from(pub.data) : jsonBytes(pub.data);
  return { data, info: pub.info === undefined ? undefined : clientInfo(pub.info), offset: pub.offset, delta: pub.delta };
}

function subscribeResult(result: SubscribeResult): ProtoObject {
  return {
    ...result,
    data: jsonBytes(result.data),
    // With fossil deltas the JSON protocol carries publication data as JSON text; protobuf carries the bytes.
    publications: result.publications?.map((pub) => publication(pub, result.delta === true)),
  };
}

function mapValues<T>(record: Readonly<Record<string, T>> | undefined, convert: (value: T) => ProtoObject): Record<string, ProtoObject> | undefined {
  if (record === undefined) return undefined;
  const out: Record<string, ProtoObject> = {};
  for (const [key, value] of Object.entries(record)) out[key] = convert(value);
  return out;
}

function connectResult(result: ConnectResult): ProtoObject {
  return { ...result, data: jsonBytes(result.data), subs: mapValues(result.subs, subscribeResult) };
}

/** A result object of the JSON protocol as the protobuf result message of `kind`. */
function resultMessage(kind: CommandKind, result: object): ProtoObject {
  switch (kind) {
    case 'connect':
      return connectResult(result as ConnectResult);
    case 'subscribe':
      return subscribeResult(result);
    case 'presence':
      return { presence: mapValues((result as { presence?: Record<string, ClientInfo> }).presence, clientInfo) ?? {} };
    case 'history': {
      const history = result as { publications?: Publication[]; epoch?: string; offset?: number };
      return { publications: history.publications?.map((pub) => publication(pub, false)), epoch: history.epoch, offset: history.offset };
    }
    case 'rpc':
      return { data: jsonBytes((result as { data?: JsonValue }).data) };
    default:
      return result as ProtoObject;
  }
}

function pushMessage(push: Push): ProtoObject {
  const subscribe = push.subscribe;
  return {
    channel: push.channel,
    pub: push.pub === undefined ? undefined : publication(push.pub, false),
    join: push.join === undefined ? undefined : { info: clientInfo(push.join.info) },
    leave: push.leave === undefined ? undefined : { info: clientInfo(push.leave.info) },
    unsubscribe: push.unsubscribe,
    message: push.message === undefined ? undefined : { data: jsonBytes(push.message.data) },
    subscribe:
      subscribe === undefined
        ? undefined
        : { recoverable: subscribe.recoverable, epoch: subscribe.epoch, offset: subscribe.offset, positioned: subscribe.positioned, data: jsonBytes(subscribe.data) },
    connect: push.connect === undefined ? undefined : connectResult(push.connect),
    disconnect: push.disconnect,
    refresh: push.refresh,
  };
}

/** A decoded request with protobuf-typed `data` (bytes) still to be read as JSON. */
type RawRequest = { data?: Uint8Array; subs?: Record<string, RawRequest>; [field: string]: unknown };

const BAD_DATA: ErrorBody = { code: ErrorCode.BadRequest, message: ERROR_MESSAGES[ErrorCode.BadRequest] };

/** Replaces a request's `data` bytes with their JSON value; false when they are not JSON text. Empty bytes are no data (proto3's default). */
function readData(request: RawRequest): boolean {
  if (request.data === undefined) return true;
  const data = request.data;
  delete request.data;
  if (data.length === 0) return true;
  const value = jsonValueOf(data);
  if (value === undefined) return false;
  (request as Record<string, unknown>).data = value;
  return true;
}

/** Reads one decoded Command as the JSON protocol's command shape. */
function toDecoded(raw: Record<string, unknown>): DecodedCommand {
  const id = typeof raw.id === 'number' ? raw.id : 0;
  let kind: CommandKind | null = null;
  for (const key of COMMAND_KEYS) {
    if (raw[key] !== undefined && raw[key] !== null) {
      kind = key;
      break;
    }
  }
  if (kind === null) return { id, kind, command: id === 0 ? {} : { id } };
  const request = raw[kind] as RawRequest;
  let readable = readData(request);
  if (kind === 'connect' && request.subs !== undefined) for (const sub of Object.values(request.subs)) readable = readData(sub) && readable;
  // Tags filters are not supported; the field is dropped rather than inspected.
  if (kind === 'subscribe') delete request.tf;
  const command = { id, [kind]: request } as Command;
  if (findUnsafeValue(command, DEFAULT_MAX_JSON_DEPTH)) throw new MalformedFrameError('command holds NUL, an unpaired surrogate or nesting deeper than 64 levels');
  return readable ? { id, kind, command } : { id, kind, command, refusal: BAD_DATA };
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number };

/**
 * Splits a binary frame into commands (varint-delimited Command messages). Throws
 * {@link MalformedFrameError} for bytes that are not such messages, and for strings with NUL or unpaired
 * surrogates or JSON `data` nesting deeper than 64 levels (as the JSON codec does).
 */
export function decodeProtobufCommands(frame: Buffer): DecodedCommand[] {
  const reader = protobuf.Reader.create(frame);
  const commands: DecodedCommand[] = [];
  while (reader.pos < reader.len) {
    let raw: Record<string, unknown>;
    try {
      raw = CommandType.toObject(CommandType.decodeDelimited(reader), TO_OBJECT);
    } catch {
      throw new MalformedFrameError('frame is not protobuf commands');
    }
    if (typeof raw.id === 'number' && (!Number.isInteger(raw.id) || raw.id < 0)) throw new MalformedFrameError('bad command id');
    commands.push(toDecoded(raw));
  }
  if (commands.length === 0) throw new MalformedFrameError('empty frame');
  return commands;
}

const NOTHING = Buffer.alloc(0);

/** Converts one broker frame (a JSON `{"push":…}`) to a delimited protobuf Reply; a damaged frame becomes nothing. */
function pushFromJson(frame: Buffer): Buffer {
  try {
    const { push } = JSON.parse(frame.toString('utf8')) as { push?: Push };
    return push === undefined || push === null || typeof push !== 'object' ? NOTHING : encodeReply({ push: pushMessage(push) });
  } catch {
    return NOTHING;
  }
}

/** A publisher's info as the broker carries it (JSON text), or nothing when it is damaged. */
function infoFromJson(info: string | undefined): ProtoObject | undefined {
  if (info === undefined) return undefined;
  try {
    return clientInfo(JSON.parse(info) as ClientInfo);
  } catch {
    return undefined;
  }
}

/** The protobuf codec of the client protocol. */
export const PROTOBUF_CODEC: ProtocolCodec = {
  format: 'protobuf',
  binary: true,
  decodeCommands: decodeProtobufCommands,
  encodeResult: (id, kind, result) => encodeReply({ id, [kind]: resultMessage(kind, result) }),
  encodeError: (id, error) => encodeReply({ id, error }),
  encodePush: (push) => encodeReply({ push: pushMessage(push) }),
  join: (messages) => (messages.length === 1 ? messages[0]! : Buffer.concat(messages)),
  ping: encodeReply({}),
  fromBroker: (frames) => (frames.length === 1 ? pushFromJson(frames[0]!) : Buffer.concat(frames.map(pushFromJson))),
  deltaFrames(channel: string, offset: number, parts: PublicationParts): DeltaFrames {
    const data = Buffer.from(parts.data);
    const info = infoFromJson(parts.info);
    const frame = (bytes: Uint8Array, delta: boolean) =>
      encodeReply({ push: { channel, pub: { data: bytes, info, offset: offset > 0 ? offset : undefined, delta: delta ? true : undefined } } });
    const full = frame(data, false);
    if (parts.prev === undefined) return { full, delta: full };
    // Protobuf carries bytes: the delta is used whenever it is smaller, whatever bytes it holds.
    const patch = Uint8Array.from(createDelta(Buffer.from(parts.prev), data));
    return { full, delta: patch.length < data.length ? frame(patch, true) : full };
  },
};
