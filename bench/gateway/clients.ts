/**
 * Load-generating client process: opens many raw `ws` sockets from one local address (127.0.0.x) and
 * speaks the gateway protocol by hand (connect + subscribe in one frame, pongs) in JSON or protobuf, or
 * the baseline's trivial one. Counts received publications. Driven over IPC by run.ts.
 */
import { importJWK, SignJWT, type JWK } from 'jose';
import protobuf from 'protobufjs';
import { WebSocket } from 'ws';
import { CommandType, ReplyType } from '../../packages/server/src/gateway/protocol/client-proto.js';

interface Start {
  type: 'start';
  mode: 'gateway' | 'raw';
  /** The gateway's wire format (`protobuf`: the `centrifuge-protobuf` subprotocol, binary frames). */
  format?: 'json' | 'protobuf';
  url: string;
  count: number;
  /** The first `subscribers` sockets subscribe to the channel. */
  subscribers: number;
  localAddress: string;
  /** Sockets opening at once. */
  concurrency: number;
  privateJwk: JWK | null;
  channel: string;
  userPrefix: string;
}
type Request = Start | { type: 'count' } | { type: 'stop' };

const sockets: WebSocket[] = [];
let received = 0;
const send = (message: unknown) => process.send?.(message);

async function mintAll(start: Start): Promise<string[]> {
  if (!start.privateJwk) return [];
  const key = await importJWK(start.privateJwk, 'ES256');
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const tokens: string[] = [];
  for (let i = 0; i < start.count; i += 1) {
    tokens.push(
      await new SignJWT({ sub: `${start.userPrefix}-${i}`, app_metadata: { organization_id: 'bench' } })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
        .setIssuer('bench')
        .setAudience('bench')
        .setExpirationTime(exp)
        .sign(key),
    );
  }
  return tokens;
}

/** The first command frame of a protobuf client: connect, and subscribe when it is a subscriber. */
function protobufHello(token: string | undefined, channel: string, subscribe: boolean): Uint8Array {
  const writer = protobuf.Writer.create();
  CommandType.encodeDelimited(CommandType.fromObject({ id: 1, connect: { token, name: 'bench' } }), writer);
  if (subscribe) CommandType.encodeDelimited(CommandType.fromObject({ id: 2, subscribe: { channel, flag: 1 } }), writer);
  return writer.finish();
}

/** Counts the pushes in a protobuf frame (each Reply is varint length + message; a push starts with field 4). */
function protobufPushes(data: Buffer): number {
  let pushes = 0;
  let at = 0;
  while (at < data.length) {
    let length = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = data[at++]!;
      length |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && at < data.length);
    if (length > 0 && data[at] === 0x22) pushes += 1;
    at += length;
  }
  return pushes;
}

const EMPTY_COMMAND = Buffer.from([0]);

/** A protobuf connection: pongs, readiness from the connect/subscribe replies, publications counted. */
function openProtobuf(start: Start, index: number, token: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(start.url, 'centrifuge-protobuf', { localAddress: start.localAddress, perMessageDeflate: false });
    sockets.push(ws);
    const subscribe = index < start.subscribers;
    let ready = false;
    ws.on('open', () => ws.send(protobufHello(token, start.channel, subscribe)));
    ws.on('message', (data: Buffer) => {
      if (data.length === 1 && data[0] === 0) {
        ws.send(EMPTY_COMMAND);
        return;
      }
      if (ready) {
        received += protobufPushes(data);
        return;
      }
      const reader = protobuf.Reader.create(data);
      while (reader.pos < reader.len) {
        const reply = ReplyType.toObject(ReplyType.decodeDelimited(reader)) as { error?: unknown; connect?: unknown; subscribe?: unknown };
        if (reply.error) {
          reject(new Error(`connect refused: ${JSON.stringify(reply.error)}`));
          return;
        }
        if ((!subscribe && reply.connect) || reply.subscribe) {
          ready = true;
          resolve();
        }
      }
    });
    ws.on('error', (error) => {
      if (!ready) reject(error);
    });
    ws.on('close', (code) => {
      if (!ready) reject(new Error(`closed with ${code}`));
    });
  });
}

function open(start: Start, index: number, token: string | undefined): Promise<void> {
  if (start.mode === 'gateway' && start.format === 'protobuf') return openProtobuf(start, index, token);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(start.url, { localAddress: start.localAddress, perMessageDeflate: false });
    sockets.push(ws);
    const subscribe = index < start.subscribers;
    let ready = false;
    ws.on('open', () => {
      if (start.mode === 'raw') {
        if (subscribe) ws.send('sub');
        ready = true;
        resolve();
        return;
      }
      const frame = [JSON.stringify({ id: 1, connect: { token, name: 'bench' } })];
      if (subscribe) frame.push(JSON.stringify({ id: 2, subscribe: { channel: start.channel, flag: 1 } }));
      ws.send(frame.join('\n'));
    });
    ws.on('message', (data: Buffer) => {
      // Publications start with {"push" (several may share a frame, one per line); server pings are {}.
      if (data[2] === 0x70) {
        received += 1;
        for (let at = data.indexOf(0x0a); at !== -1; at = data.indexOf(0x0a, at + 1)) received += 1;
        return;
      }
      if (data.length === 2) {
        ws.send('{}');
        return;
      }
      if (!ready) {
        const text = data.toString();
        if (text.includes('"error"')) {
          reject(new Error(`connect refused: ${text}`));
          return;
        }
        if ((!subscribe && text.includes('"connect"')) || text.includes('"subscribe"')) {
          ready = true;
          resolve();
        }
      }
    });
    ws.on('error', (error) => {
      if (!ready) reject(error);
    });
    ws.on('close', (code) => {
      if (!ready) reject(new Error(`closed with ${code}`));
    });
  });
}

process.on('message', async (request: Request) => {
  if (request.type === 'start') {
    try {
      const tokens = await mintAll(request);
      send({ type: 'minted' });
      await new Promise<void>((resolve) => process.once('message', (go: { type: string }) => go.type === 'go' && resolve()));
      const started = process.hrtime.bigint();
      let next = 0;
      const worker = async () => {
        while (next < request.count) {
          const index = next;
          next += 1;
          await open(request, index, tokens[index]);
        }
      };
      await Promise.all(Array.from({ length: request.concurrency }, worker));
      send({ type: 'connected', count: request.count, ms: Number(process.hrtime.bigint() - started) / 1e6 });
    } catch (error) {
      send({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
    }
  } else if (request.type === 'count') {
    send({ type: 'count', received });
  } else if (request.type === 'stop') {
    for (const ws of sockets) ws.terminate();
    setTimeout(() => process.exit(0), 200);
  }
});
send({ type: 'up' });
