import { applyDelta } from 'fossil-delta';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { CommandType, ReplyType } from '../../src/gateway/protocol/client-proto.js';
import { JSON_CODEC, MalformedFrameError } from '../../src/gateway/protocol/codec.js';
import { PROTOBUF_CODEC } from '../../src/gateway/protocol/protobuf.js';
import type { Push } from '../../src/gateway/protocol/types.js';

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const hex = (buffer: Uint8Array) => Buffer.from(buffer).toString('hex');

function decodeReplies(frame: Buffer): Record<string, unknown>[] {
  const reader = protobuf.Reader.create(frame);
  const replies: Record<string, unknown>[] = [];
  while (reader.pos < reader.len) replies.push(ReplyType.toObject(ReplyType.decodeDelimited(reader), { longs: Number }));
  return replies;
}

function commandFrame(...commands: object[]): Buffer {
  const writer = protobuf.Writer.create();
  for (const command of commands) CommandType.encodeDelimited(CommandType.fromObject(command), writer);
  return Buffer.from(writer.finish());
}

const info = { user: 'u1', client: 'c1', conn_info: { name: 'Ada' }, chan_info: { role: 'reader' } };
const protoInfo = { user: 'u1', client: 'c1', conn_info: bytes({ name: 'Ada' }), chan_info: bytes({ role: 'reader' }) };

describe('protobuf codec', () => {
  it('writes the protocol field numbers: an unsubscribe push, a ping command, the server ping', () => {
    expect(hex(PROTOBUF_CODEC.encodePush({ channel: 'c', unsubscribe: { code: 2000, reason: 'x' } }))).toBe('0d220b1201633a0610d00f1a0178');
    expect(hex(commandFrame({ id: 1, ping: {} }))).toBe('0408015a00');
    expect(PROTOBUF_CODEC.decodeCommands(commandFrame({ id: 1, ping: {} }))).toEqual([{ id: 1, kind: 'ping', command: { id: 1, ping: {} } }]);
    expect(hex(PROTOBUF_CODEC.ping)).toBe('00');
    // The pong: an empty command.
    expect(PROTOBUF_CODEC.decodeCommands(Buffer.from([0]))).toEqual([{ id: 0, kind: null, command: {} }]);
  });

  it('encodes every push kind with data as JSON bytes', () => {
    const pushes: [Push, Record<string, unknown>][] = [
      [{ channel: 'a', pub: { data: { n: 1 }, info, offset: 7 } }, { channel: 'a', pub: { data: bytes({ n: 1 }), info: protoInfo, offset: 7 } }],
      [{ channel: 'a', join: { info } }, { channel: 'a', join: { info: protoInfo } }],
      [{ channel: 'a', leave: { info } }, { channel: 'a', leave: { info: protoInfo } }],
      [{ channel: 'a', unsubscribe: { code: 2001, reason: 'membership ended' } }, { channel: 'a', unsubscribe: { code: 2001, reason: 'membership ended' } }],
      [{ message: { data: ['hi'] } }, { message: { data: bytes(['hi']) } }],
      [
        { channel: 'a', subscribe: { recoverable: true, epoch: 'e', offset: 3, positioned: true, data: { x: 1 } } },
        { channel: 'a', subscribe: { recoverable: true, epoch: 'e', offset: 3, positioned: true, data: bytes({ x: 1 }) } },
      ],
      [
        { connect: { client: 'c1', version: '1', data: { d: 1 }, subs: { a: { recoverable: true } }, expires: true, ttl: 60, ping: 25, pong: true } },
        { connect: { client: 'c1', version: '1', data: bytes({ d: 1 }), subs: { a: { recoverable: true } }, expires: true, ttl: 60, ping: 25, pong: true } },
      ],
      [{ disconnect: { code: 3001, reason: 'shutdown', reconnect: true } }, { disconnect: { code: 3001, reason: 'shutdown', reconnect: true } }],
      [{ refresh: { expires: true, ttl: 30 } }, { refresh: { expires: true, ttl: 30 } }],
    ];
    for (const [push, expected] of pushes) expect(decodeReplies(PROTOBUF_CODEC.encodePush(push))).toEqual([{ push: expected }]);
  });

  it('encodes every result kind, the result present even when empty', () => {
    const publication = { data: { n: 1 }, info, offset: 2 };
    const cases: [Parameters<typeof PROTOBUF_CODEC.encodeResult>[1], object, Record<string, unknown>][] = [
      ['connect', { client: 'c1', version: '1', ping: 25, pong: true, subs: { s: { offset: 4, epoch: 'e' } } }, { client: 'c1', version: '1', ping: 25, pong: true, subs: { s: { offset: 4, epoch: 'e' } } }],
      [
        'subscribe',
        { recoverable: true, positioned: true, epoch: 'e', offset: 1, recovered: true, was_recovering: true, publications: [publication], data: { x: 1 }, expires: true, ttl: 9 },
        { recoverable: true, positioned: true, epoch: 'e', offset: 1, recovered: true, was_recovering: true, publications: [{ data: bytes({ n: 1 }), info: protoInfo, offset: 2 }], data: bytes({ x: 1 }), expires: true, ttl: 9 },
      ],
      // With deltas the JSON protocol carries recovered data as JSON text: protobuf carries its bytes.
      ['subscribe', { delta: true, publications: [{ data: '{"n":1}', offset: 2 }] }, { delta: true, publications: [{ data: Buffer.from('{"n":1}'), offset: 2 }] }],
      ['unsubscribe', {}, {}],
      ['publish', {}, {}],
      ['presence', { presence: { c1: info } }, { presence: { c1: protoInfo } }],
      ['presence', { presence: {} }, {}],
      ['presence_stats', { num_clients: 2, num_users: 1 }, { num_clients: 2, num_users: 1 }],
      ['history', { publications: [publication], epoch: 'e', offset: 2 }, { publications: [{ data: bytes({ n: 1 }), info: protoInfo, offset: 2 }], epoch: 'e', offset: 2 }],
      ['ping', {}, {}],
      ['rpc', { data: { answer: 42 } }, { data: bytes({ answer: 42 }) }],
      ['rpc', {}, {}],
      ['refresh', { client: 'c1', version: '1', expires: true, ttl: 10 }, { client: 'c1', version: '1', expires: true, ttl: 10 }],
      ['sub_refresh', { expires: true, ttl: 10 }, { expires: true, ttl: 10 }],
    ];
    for (const [kind, result, expected] of cases) expect(decodeReplies(PROTOBUF_CODEC.encodeResult(5, kind, result))).toEqual([{ id: 5, [kind]: expected }]);
    expect(decodeReplies(PROTOBUF_CODEC.encodeError(6, { code: 100, message: 'internal server error', temporary: true }))).toEqual([
      { id: 6, error: { code: 100, message: 'internal server error', temporary: true } },
    ]);
  });

  it('decodes every command kind into the JSON protocol shape, data read as JSON', () => {
    const frame = commandFrame(
      { id: 1, connect: { token: 't', data: bytes({ a: 1 }), name: 'js', version: '5', subs: { s: { recover: true, offset: 3, epoch: 'e' } }, headers: { h: 'v' } } },
      { id: 2, subscribe: { channel: 'c', recover: true, offset: 5, epoch: 'e', positioned: true, recoverable: true, join_leave: true, delta: 'fossil', flag: 3, data: bytes('x') } },
      { id: 3, unsubscribe: { channel: 'c' } },
      { id: 4, publish: { channel: 'c', data: bytes({ t: 'hi' }) } },
      { id: 5, presence: { channel: 'c' } },
      { id: 6, presence_stats: { channel: 'c' } },
      { id: 7, history: { channel: 'c', limit: -1, since: { offset: 2, epoch: 'e' }, reverse: true } },
      { id: 8, ping: {} },
      { send: { data: bytes([1]) } },
      { id: 9, rpc: { method: 'm', data: bytes(null) } },
      { id: 10, refresh: { token: 't2' } },
      { id: 11, sub_refresh: { channel: 'c', token: 't3' } },
    );
    expect(PROTOBUF_CODEC.decodeCommands(frame).map(({ command }) => command)).toEqual([
      { id: 1, connect: { token: 't', data: { a: 1 }, name: 'js', version: '5', subs: { s: { recover: true, offset: 3, epoch: 'e' } }, headers: { h: 'v' } } },
      { id: 2, subscribe: { channel: 'c', recover: true, offset: 5, epoch: 'e', positioned: true, recoverable: true, join_leave: true, delta: 'fossil', flag: 3, data: 'x' } },
      { id: 3, unsubscribe: { channel: 'c' } },
      { id: 4, publish: { channel: 'c', data: { t: 'hi' } } },
      { id: 5, presence: { channel: 'c' } },
      { id: 6, presence_stats: { channel: 'c' } },
      { id: 7, history: { channel: 'c', limit: -1, since: { offset: 2, epoch: 'e' }, reverse: true } },
      { id: 8, ping: {} },
      { id: 0, send: { data: [1] } },
      { id: 9, rpc: { method: 'm', data: null } },
      { id: 10, refresh: { token: 't2' } },
      { id: 11, sub_refresh: { channel: 'c', token: 't3' } },
    ]);
  });

  it('refuses data that is not JSON with 107, and frames that are not commands as malformed', () => {
    const [decoded] = PROTOBUF_CODEC.decodeCommands(commandFrame({ id: 4, publish: { channel: 'c', data: new Uint8Array([0xff, 0xfe]) } }));
    expect(decoded).toMatchObject({ id: 4, kind: 'publish', refusal: { code: 107 } });
    expect(PROTOBUF_CODEC.decodeCommands(commandFrame({ id: 4, publish: { channel: 'c', data: Buffer.from('{"a":') } }))[0]?.refusal).toMatchObject({ code: 107 });
    // Empty bytes are proto3's default: no data, as an absent JSON field.
    expect(PROTOBUF_CODEC.decodeCommands(commandFrame({ id: 4, rpc: { method: 'm', data: new Uint8Array() } }))[0]).toEqual({ id: 4, kind: 'rpc', command: { id: 4, rpc: { method: 'm' } } });
    for (const bad of [Buffer.from('not protobuf'), Buffer.from([0x05, 0x08]), Buffer.alloc(0), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]) {
      expect(() => PROTOBUF_CODEC.decodeCommands(bad)).toThrow(MalformedFrameError);
    }
    expect(() => PROTOBUF_CODEC.decodeCommands(commandFrame({ id: 1, subscribe: { channel: 'a\u0000b' } }))).toThrow(MalformedFrameError);
    const deep = '['.repeat(80) + ']'.repeat(80);
    expect(PROTOBUF_CODEC.decodeCommands(commandFrame({ id: 1, rpc: { method: 'm', data: Buffer.from(deep) } }))[0]?.refusal).toMatchObject({ code: 107 });
  });

  it('converts broker frames once per batch, and makes fossil deltas on bytes', () => {
    const frames = [Buffer.from('{"push":{"channel":"a","pub":{"data":{"n":1},"offset":1}}}'), Buffer.from('{"push":{"channel":"a","join":{"info":{"user":"u","client":"c"}}}}')];
    expect(JSON_CODEC.fromBroker(frames).toString()).toBe(`${frames[0]!.toString()}\n${frames[1]!.toString()}`);
    expect(decodeReplies(PROTOBUF_CODEC.fromBroker(frames))).toEqual([
      { push: { channel: 'a', pub: { data: bytes({ n: 1 }), offset: 1 } } },
      { push: { channel: 'a', join: { info: { user: 'u', client: 'c' } } } },
    ]);

    // A damaged frame from the broker is left out, never thrown into the delivery loop.
    expect(decodeReplies(PROTOBUF_CODEC.fromBroker([Buffer.from('{"push":'), frames[0]!, Buffer.from('null')]))).toEqual([{ push: { channel: 'a', pub: { data: bytes({ n: 1 }), offset: 1 } } }]);

    const prev = JSON.stringify({ body: 'lorem ipsum '.repeat(30), v: 1 });
    const data = JSON.stringify({ body: 'lorem ipsum '.repeat(30), v: 2 });
    const frames2 = PROTOBUF_CODEC.deltaFrames('a', 9, { data, info: JSON.stringify(info), prev });
    const [full] = decodeReplies(frames2.full) as [{ push: { pub: { data: Uint8Array; delta?: boolean; offset: number; info: unknown } } }];
    expect(Buffer.from(full.push.pub.data).toString()).toBe(data);
    expect(full.push.pub).toMatchObject({ offset: 9, info: protoInfo });
    expect(full.push.pub.delta).toBeUndefined();
    const [delta] = decodeReplies(frames2.delta) as [{ push: { pub: { data: Uint8Array; delta: boolean } } }];
    expect(delta.push.pub.delta).toBe(true);
    expect(delta.push.pub.data.length).toBeLessThan(data.length / 4);
    expect(Buffer.from(applyDelta(Buffer.from(prev), delta.push.pub.data)).toString()).toBe(data);
    // Without the previous publication: the full frame for everyone.
    const alone = PROTOBUF_CODEC.deltaFrames('a', 1, { data });
    expect(alone.delta).toBe(alone.full);
  });
});
