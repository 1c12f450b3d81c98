import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PublicationContext, SubscribedContext } from 'centrifuge';
import { Centrifuge, type Subscription } from 'centrifuge/build/protobuf';
import { SignJWT } from 'jose';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createTestDatabase, type TestDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { CommandType, ReplyType } from '../../src/gateway/protocol/client-proto.js';
import { officialClient, once, rawClient, sleep, startGateway, startKeyServer, type GatewayServer, type KeyServer } from './support.js';

/** Namespaces as in the official client's own test configuration, plus presence and join/leave. */
const CONFIG = {
  channel: {
    namespaces: [
      { name: 'recovery', force_recovery: true, history_size: 100, history_ttl: '300s', allow_subscribe_for_client: true, allow_publish_for_subscriber: true, allow_history_for_subscriber: true },
      { name: 'delta', allowed_delta_types: ['fossil'], delta_publish: true, force_recovery: true, history_size: 100, history_ttl: '300s', allow_subscribe_for_client: true, allow_publish_for_subscriber: true },
      {
        name: 'room',
        presence: true,
        join_leave: true,
        force_push_join_leave: true,
        allow_subscribe_for_client: true,
        allow_publish_for_subscriber: true,
        allow_presence_for_subscriber: true,
      },
    ],
  },
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** What a protobuf client puts in `data` fields: the JSON text of the value, as bytes. */
const bytes = (value: unknown) => encoder.encode(JSON.stringify(value));
/** What a protobuf client receives in `data` fields, read back as JSON. */
const json = (data: unknown) => JSON.parse(decoder.decode(data as Uint8Array)) as unknown;

interface Ctx {
  code?: number;
  reason?: string;
}

/** The official client's protobuf build, configured for Node and quick reconnects. */
function protobufClient(url: string, options: ConstructorParameters<typeof Centrifuge>[1] = {}): Centrifuge {
  return new Centrifuge(url, { websocket: WebSocket, minReconnectDelay: 50, maxReconnectDelay: 300, ...options });
}

/** Collects `count` events named `name`. */
function collect<T>(emitter: { on(event: string, listener: (value: T) => void): unknown }, name: string, count: number, ms = 10_000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const seen: T[] = [];
    const timer = setTimeout(() => reject(new Error(`got ${seen.length} of ${count} ${name} events`)), ms);
    emitter.on(name, (value: T) => {
      seen.push(value);
      if (seen.length === count) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

/** Delimited protobuf commands in one frame, as the protobuf SDKs write them. */
function commandFrame(...commands: object[]): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const command of commands) CommandType.encodeDelimited(CommandType.fromObject(command), writer);
  return writer.finish();
}

/** Replies and pushes of one binary frame, as plain objects. */
function decodeReplies(frame: Buffer): Record<string, unknown>[] {
  const reader = protobuf.Reader.create(frame);
  const replies: Record<string, unknown>[] = [];
  while (reader.pos < reader.len) replies.push(ReplyType.toObject(ReplyType.decodeDelimited(reader), { longs: Number }));
  return replies;
}

/** A raw protobuf connection: frames received so far, decoded; resolves `closed` with the close code. */
async function rawProtobuf(url: string, protocols?: string) {
  const ws = protocols === undefined ? new WebSocket(url) : new WebSocket(url, protocols);
  const frames: { binary: boolean; bytes: Buffer; replies: Record<string, unknown>[] }[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => frames.push({ binary: isBinary, bytes: data, replies: decodeReplies(data) }));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

function protobufSuite(engine: 'memory' | 'redis'): void {
  let dir: string;
  let database: TestDatabase;
  let keys: KeyServer;
  let first: GatewayServer;
  let second: GatewayServer;
  const clients: Centrifuge[] = [];
  const run = randomUUID().slice(0, 8);
  const channel = (namespace: string) => `${namespace}:${run}-${randomUUID().slice(0, 8)}`;
  const sent: unknown[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'latchkey-protobuf-'));
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify(CONFIG));
    database = await createTestDatabase('pglite');
    keys = await startKeyServer();
    const env: Record<string, string> = { LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url, LATCHKEY_GATEWAY_CONFIG: file, LATCHKEY_GATEWAY_EXPIRED_CLOSE_DELAY: '2' };
    if (engine === 'redis') Object.assign(env, { REDIS_URL: process.env.REDIS_URL ?? '', LATCHKEY_REDIS_PREFIX: `test-protobuf-${run}` });
    first = await startGateway(database.db, env);
    second = engine === 'redis' ? await startGateway(database.db, env) : first;
    for (const node of new Set([first, second])) {
      node.gateway.registerRpc<{ text: string }, { echo: string; user: string }>('echo', (data, context) => ({ echo: data.text, user: context.user }));
      node.gateway.onSend((data, from) => sent.push({ data, user: from.user }));
    }
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await first?.close();
    if (second !== first) await second?.close();
    await keys?.close();
    await database?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  /** A connected protobuf client; each reconnect goes to the other node (on Redis), so recovery works from the shared stream. */
  const connect = async (claims: Record<string, unknown> = {}, options: ConstructorParameters<typeof Centrifuge>[1] = {}) => {
    let attempt = 0;
    const urls = [first.wsUrl, second.wsUrl];
    const client = protobufClient(first.wsUrl, { token: await keys.mint({ sub: 'reader', ...claims }), ...options });
    client.on('connecting', () => {
      (client as unknown as { _endpoint: string })._endpoint = urls[attempt++ % urls.length]!;
    });
    clients.push(client);
    const connected = once(client, 'connected');
    client.connect();
    await connected;
    return client;
  };
  const subscribe = async (client: Centrifuge, name: string, options: Parameters<Centrifuge['newSubscription']>[1] = {}) => {
    const subscription = client.newSubscription(name, options);
    const subscribed = once<SubscribedContext>(subscription, 'subscribed');
    subscription.subscribe();
    return { subscription, context: await subscribed };
  };
  const publish = async (name: string, data: unknown, extra: Record<string, unknown> = {}) => {
    const reply = await first.api('publish', { channel: name, data, ...extra });
    expect(reply.status).toBe(200);
  };
  const reconnect = async (client: Centrifuge, subscription: Subscription, missed: () => Promise<void>, count: number) => {
    client.disconnect();
    await missed();
    const resubscribed = once<SubscribedContext>(subscription, 'subscribed');
    const publications = count > 0 ? collect<PublicationContext>(subscription, 'publication', count) : Promise.resolve([]);
    client.connect();
    return { context: await resubscribed, publications: await publications };
  };

  it('connects with a JWT over the centrifuge-protobuf subprotocol and calls RPC methods with JSON bytes', async () => {
    const client = await connect({ sub: 'user-rpc' });
    const reply = await client.rpc('echo', bytes({ text: 'hello' }));
    expect(json(reply.data)).toEqual({ echo: 'hello', user: 'user-rpc' });
    await expect(client.rpc('nope', bytes({}))).rejects.toMatchObject({ code: 104 });
    // Bytes that are not JSON cannot reach JSON subscribers or handlers: 107, and the connection stays.
    await expect(client.rpc('echo', new Uint8Array([0xff, 0x00, 0x01]))).rejects.toMatchObject({ code: 107 });
    expect(client.state).toBe('connected');
    // `send`: fire-and-forget, its data reaches the send handlers as JSON.
    await client.send(bytes({ note: 'fire' }));
    await expect.poll(() => sent).toContainEqual({ data: { note: 'fire' }, user: 'user-rpc' });
  });

  it('delivers publications, presence, join/leave and history; JSON and protobuf clients share a channel', async () => {
    const name = channel('room');
    const client = await connect({ sub: 'user-a', info: { name: 'Ada' } });
    const { subscription } = await subscribe(client, name);
    const jsonClient = officialClient(first.wsUrl, { token: await keys.mint({ sub: 'user-b' }) });
    clients.push(jsonClient as unknown as Centrifuge);
    // Join/leave pushes travel through the broker: one's own join may come first.
    const joinLeave: string[] = [];
    subscription.on('join', (ctx: { info: { user: string } }) => joinLeave.push(`join ${ctx.info.user}`));
    subscription.on('leave', (ctx: { info: { user: string } }) => joinLeave.push(`leave ${ctx.info.user}`));
    jsonClient.connect();
    const jsonSubscription = jsonClient.newSubscription(name);
    jsonSubscription.subscribe();
    await once(jsonSubscription, 'subscribed');
    await expect.poll(() => joinLeave).toContain('join user-b');

    const received = collect<PublicationContext>(subscription, 'publication', 2);
    const receivedJson = collect<{ data: unknown; info?: { user: string; connInfo?: unknown } }>(jsonSubscription, 'publication', 2);
    await publish(name, { from: 'api' });
    await subscription.publish(bytes({ from: 'protobuf' }));
    const publications = await received;
    expect(publications.map((publication) => json(publication.data))).toEqual([{ from: 'api' }, { from: 'protobuf' }]);
    expect(publications[1]?.info).toMatchObject({ user: 'user-a' });
    expect(json(publications[1]?.info?.connInfo)).toEqual({ name: 'Ada' });
    const jsonPublications = await receivedJson;
    expect(jsonPublications.map((publication) => publication.data)).toEqual([{ from: 'api' }, { from: 'protobuf' }]);
    expect(jsonPublications[1]?.info).toMatchObject({ user: 'user-a', connInfo: { name: 'Ada' } });
    await expect(subscription.publish(new Uint8Array([0xc3, 0x28]))).rejects.toMatchObject({ code: 107 });

    const presence = await client.presence(name);
    expect(Object.values(presence.clients).map((entry) => entry.user).sort()).toEqual(['user-a', 'user-b']);
    expect(json(Object.values(presence.clients).find((entry) => entry.user === 'user-a')?.connInfo)).toEqual({ name: 'Ada' });
    expect(await client.presenceStats(name)).toEqual({ numClients: 2, numUsers: 2 });

    jsonClient.disconnect();
    await expect.poll(() => joinLeave).toContain('leave user-b');
    await expect.poll(() => client.presenceStats(name)).toEqual({ numClients: 1, numUsers: 1 });
  });

  it('answers the history command', async () => {
    const client = await connect();
    const name = channel('recovery');
    for (const seq of [1, 2, 3]) await publish(name, { seq });
    await subscribe(client, name);
    const all = await client.history(name, { limit: -1 });
    expect(all.publications.map((publication) => [json(publication.data), publication.offset])).toEqual([
      [{ seq: 1 }, 1],
      [{ seq: 2 }, 2],
      [{ seq: 3 }, 3],
    ]);
    expect(all.offset).toBe(3);
    const since = await client.history(name, { limit: 1, since: { offset: 1, epoch: all.epoch } });
    expect(since.publications.map((publication) => publication.offset)).toEqual([2]);
    const reversed = await client.history(name, { limit: 2, reverse: true });
    expect(reversed.publications.map((publication) => publication.offset)).toEqual([3, 2]);
    await expect(client.history(name, { limit: 1, since: { offset: 1, epoch: 'other' } })).rejects.toMatchObject({ code: 112 });
  });

  it('recovers the publications missed while disconnected, then delivers live ones', async () => {
    const client = await connect();
    const name = channel('recovery');
    const { subscription, context } = await subscribe(client, name);
    expect(context).toMatchObject({ positioned: true, recoverable: true, wasRecovering: false, recovered: false });
    const live = once<PublicationContext>(subscription, 'publication');
    await publish(name, { seq: 1 });
    expect((await live).offset).toBe(1);

    const { context: again, publications } = await reconnect(
      client,
      subscription,
      async () => {
        for (const seq of [2, 3, 4]) await publish(name, { seq });
      },
      3,
    );
    expect(again).toMatchObject({ recovered: true, wasRecovering: true, positioned: true, recoverable: true });
    expect(publications.map((publication) => [json(publication.data), publication.offset])).toEqual([
      [{ seq: 2 }, 2],
      [{ seq: 3 }, 3],
      [{ seq: 4 }, 4],
    ]);
    const after = once<PublicationContext>(subscription, 'publication');
    await publish(name, { seq: 5 });
    expect(await after).toMatchObject({ offset: 5 });
    expect(json((await after).data)).toEqual({ seq: 5 });
  });

  it('recovers publications sent while a subscribe is answered without losing or repeating one', async () => {
    const client = await connect();
    const name = channel('recovery');
    const { subscription } = await subscribe(client, name);
    const received: number[] = [];
    subscription.on('publication', (context: PublicationContext) => received.push(context.offset ?? -1));
    client.disconnect();
    await publish(name, { seq: 1 });
    client.connect();
    // Publish while the resubscribe (and its history read) is in flight: held frames are converted for this connection.
    for (let seq = 2; seq <= 20; seq += 1) await publish(name, { seq });
    for (let i = 0; i < 100 && received.length < 20; i += 1) await sleep(50);
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  /** A document that changes a little each time: what deltas are for. */
  const document = (version: number) => ({ version, title: 'Quarterly planning', body: 'lorem ipsum dolor sit amet '.repeat(20), updated: `v${version}` });

  it('applies fossil deltas on bytes, next to a JSON client with deltas on the same channel, and recovers with deltas on', async () => {
    const client = await connect();
    const name = channel('delta');
    const { subscription, context } = await subscribe(client, name, { delta: 'fossil' });
    expect(context).toMatchObject({ recoverable: true });
    const jsonClient = officialClient(first.wsUrl, { token: await keys.mint({ sub: 'json-reader' }) });
    clients.push(jsonClient as unknown as Centrifuge);
    jsonClient.connect();
    const jsonSubscription = jsonClient.newSubscription(name, { delta: 'fossil' });
    jsonSubscription.subscribe();
    await once(jsonSubscription, 'subscribed');

    const received = collect<PublicationContext>(subscription, 'publication', 3);
    const receivedJson = collect<PublicationContext>(jsonSubscription, 'publication', 3);
    for (const version of [1, 2, 3]) await publish(name, document(version));
    expect((await received).map((publication) => json(publication.data))).toEqual([document(1), document(2), document(3)]);
    expect((await receivedJson).map((publication) => publication.data)).toEqual([document(1), document(2), document(3)]);
    const stats = subscription.deltaStats();
    expect(stats).toMatchObject({ numPublications: 3, numFullPayloads: 1, numDeltaPayloads: 2 });
    expect(stats.bytesReceived).toBeLessThan(stats.bytesDecoded / 2);
    expect(jsonSubscription.deltaStats()).toMatchObject({ numFullPayloads: 1, numDeltaPayloads: 2 });

    const { context: again, publications } = await reconnect(
      client,
      subscription,
      async () => {
        for (const version of [4, 5]) await publish(name, document(version));
      },
      2,
    );
    expect(again).toMatchObject({ recovered: true, wasRecovering: true });
    expect(publications.map((publication) => json(publication.data))).toEqual([document(4), document(5)]);
    const live = once<PublicationContext>(subscription, 'publication');
    await publish(name, document(6));
    expect(json((await live).data)).toEqual(document(6));
    expect(subscription.deltaStats().numDeltaPayloads).toBe(3);
  });
}

describe('protobuf protocol with the official client, memory engine', () => {
  protobufSuite('memory');
});
describeWith(['REDIS_URL'], 'protobuf protocol with the official client, Redis engine shared by two nodes', () => protobufSuite('redis'));

const SUBSCRIPTION_SECRET = 'subscription-secret-for-protobuf-tests-0123456789';

describe('protobuf protocol: tokens, disconnects and bad input', () => {
  let database: TestDatabase;
  let keys: KeyServer;
  let gateway: GatewayServer;
  const clients: Centrifuge[] = [];
  const client = (options: ConstructorParameters<typeof Centrifuge>[1] = {}) => {
    const created = protobufClient(gateway.wsUrl, options);
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    keys = await startKeyServer();
    gateway = await startGateway(database.db, {
      LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url,
      LATCHKEY_GATEWAY_EXPIRED_CLOSE_DELAY: '2',
      LATCHKEY_GATEWAY_EXPIRED_SUB_CLOSE_DELAY: '2',
      LATCHKEY_GATEWAY_SUBSCRIPTION_TOKEN_HMAC_SECRET: SUBSCRIPTION_SECRET,
    });
    gateway.gateway.registerRpc('whoami', (_data, context) => ({ user: context.user }));
  });
  afterAll(async () => {
    for (const created of clients) created.disconnect();
    await gateway?.close();
    await keys?.close();
    await database?.dispose();
  });

  it('keeps a 3-second token fresh in-band with refresh commands', async () => {
    let calls = 0;
    const centrifuge = client({
      token: await keys.mint({ sub: 'fresh' }, { expiresIn: 3 }),
      getToken: async () => {
        calls += 1;
        return keys.mint({ sub: 'fresh' }, { expiresIn: 3 });
      },
    });
    const states: string[] = [];
    centrifuge.on('disconnected', () => states.push('disconnected'));
    centrifuge.on('connecting', (ctx: Ctx) => states.push(`connecting ${ctx.code}`));
    const connected = once(centrifuge, 'connected');
    centrifuge.connect();
    await connected;
    states.length = 0;
    await sleep(7000);
    expect(states).toEqual([]);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(json((await centrifuge.rpc('whoami', bytes({}))).data)).toEqual({ user: 'fresh' });
  }, 15_000);

  it('refreshes a subscription token in-band with sub_refresh, and delivers on server-side subscriptions from the token', async () => {
    const subToken = (expiresIn: number) =>
      new SignJWT({ sub: 'private', channel: '$secret' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
        .sign(new TextEncoder().encode(SUBSCRIPTION_SECRET));
    const centrifuge = client({ token: await keys.mint({ sub: 'private', channels: ['user:#private'] }) });
    const serverSide = once<{ channel: string }>(centrifuge, 'subscribed');
    const connected = once(centrifuge, 'connected');
    centrifuge.connect();
    await connected;
    expect((await serverSide).channel).toBe('user:#private');
    const serverPublication = once<{ channel: string; data: unknown }>(centrifuge, 'publication');
    await gateway.gateway.publish('user:#private', { direct: true });
    const received = await serverPublication;
    expect(received.channel).toBe('user:#private');
    expect(json(received.data)).toEqual({ direct: true });

    let calls = 0;
    const secret = centrifuge.newSubscription('$secret', {
      getToken: async () => {
        calls += 1;
        return subToken(2);
      },
    });
    const events: string[] = [];
    secret.on('unsubscribed', (ctx: Ctx) => events.push(`unsubscribed ${ctx.code}`));
    centrifuge.on('connecting', (ctx: Ctx) => events.push(`connecting ${ctx.code}`));
    const subscribed = once(secret, 'subscribed');
    secret.subscribe();
    await subscribed;
    await sleep(5000);
    expect(events).toEqual([]);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(secret.state).toBe('subscribed');
  }, 15_000);

  it('closes with the documented codes: 3005 when a token lapses, 3500 for an invalid token, 3503 through the server API', async () => {
    const events: string[] = [];
    const lapsing = client({
      token: await keys.mint({ sub: 'lapsing' }, { expiresIn: 1 }),
      getToken: async () => keys.mint({ sub: 'lapsing' }, { expiresIn: 60 }),
    });
    // No refresh reaches the server: the client's refresh timer is stopped.
    (lapsing as unknown as { _refresh: () => void })._refresh = () => undefined;
    lapsing.on('connecting', (ctx: Ctx) => events.push(`connecting ${ctx.code}`));
    lapsing.on('error', (ctx: { error?: { code: number } }) => {
      if (ctx.error) events.push(`error ${ctx.error.code}`);
    });
    const first = once(lapsing, 'connected');
    lapsing.connect();
    await first;
    await expect.poll(() => events, { timeout: 8000 }).toContain('connecting 3005');
    await expect.poll(() => lapsing.state, { timeout: 8000 }).toBe('connected');

    const invalid = client({ token: await keys.mint({ sub: 'invalid' }, { key: 'foreign' }) });
    const refused = once<Ctx>(invalid, 'disconnected');
    invalid.connect();
    expect(await refused).toMatchObject({ code: 3500, reason: 'invalid token' });

    const kicked = client({ token: await keys.mint({ sub: 'kicked' }) });
    const connected = once(kicked, 'connected');
    kicked.connect();
    await connected;
    const disconnected = once<Ctx>(kicked, 'disconnected');
    expect((await gateway.api('disconnect', { user: 'kicked' })).status).toBe(200);
    expect(await disconnected).toMatchObject({ code: 3503 });
  }, 20_000);

  it('negotiates protobuf by subprotocol or by query', async () => {
    const token = await keys.mint({ sub: 'raw' });
    const bySubprotocol = await rawProtobuf(gateway.wsUrl, 'centrifuge-protobuf');
    expect(bySubprotocol.ws.protocol).toBe('centrifuge-protobuf');
    const byQuery = await rawProtobuf(`${gateway.wsUrl}?format=protobuf`);
    const byCfProtocol = await rawProtobuf(`${gateway.wsUrl}?cf_protocol=protobuf`);
    for (const raw of [bySubprotocol, byQuery, byCfProtocol]) {
      raw.ws.send(commandFrame({ id: 1, connect: { token, name: 'raw' } }, { id: 2, rpc: { method: 'whoami', data: bytes({}) } }));
      await expect.poll(() => raw.frames.flatMap((frame) => frame.replies).length).toBe(2);
      expect(raw.frames.every((frame) => frame.binary)).toBe(true);
      const replies = raw.frames.flatMap((frame) => frame.replies);
      expect(replies[0]).toMatchObject({ id: 1, connect: { client: expect.any(String), ping: 25, pong: true } });
      expect(json((replies[1] as { rpc: { data: Uint8Array } }).rpc.data)).toEqual({ user: 'raw' });
      raw.ws.close();
    }
    // Empty results are still present, as the SDKs expect.
    const raw = await rawProtobuf(gateway.wsUrl, 'centrifuge-protobuf');
    raw.ws.send(commandFrame({ id: 1, connect: { token } }, { id: 2, unsubscribe: { channel: 'news' } }));
    await expect.poll(() => raw.frames.length).toBe(1);
    expect(raw.frames[0]?.replies[1]).toEqual({ id: 2, unsubscribe: {} });
    raw.ws.close();
  });

  it('pings with one zero byte: the official client answers, a silent one is closed with 3012', async () => {
    const pinging = await startGateway(database.db, { LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url, LATCHKEY_GATEWAY_PING_INTERVAL: '1', LATCHKEY_GATEWAY_PONG_TIMEOUT: '0.5' });
    try {
      const token = await keys.mint({ sub: 'pinged' });
      const silent = await rawProtobuf(pinging.wsUrl, 'centrifuge-protobuf');
      silent.ws.send(commandFrame({ id: 1, connect: { token } }));
      expect((await silent.closed).code).toBe(3012);
      expect(silent.frames.some((frame) => frame.bytes.equals(Buffer.from([0])))).toBe(true);

      const official = protobufClient(pinging.wsUrl, { token });
      clients.push(official);
      const states: string[] = [];
      official.on('connecting', (ctx: Ctx) => states.push(`connecting ${ctx.code}`));
      const connected = once(official, 'connected');
      official.connect();
      await connected;
      states.length = 0;
      await sleep(3000);
      expect(states).toEqual([]);
      expect(official.state).toBe('connected');
      official.disconnect();
    } finally {
      await pinging.close();
    }
  }, 15_000);

  it('closes with 3501 on bytes that are not protobuf commands, and keeps serving others', async () => {
    const token = await keys.mint({ sub: 'garbage' });
    const garbage = [Buffer.from('hello, not protobuf'), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), Buffer.from([0x0a, 0x05, 0x22])];
    for (const bytesSent of garbage) {
      const before = await rawProtobuf(gateway.wsUrl, 'centrifuge-protobuf');
      before.ws.send(bytesSent);
      expect((await before.closed).code).toBe(3501);
      // After a connect, too.
      const after = await rawProtobuf(gateway.wsUrl, 'centrifuge-protobuf');
      after.ws.send(commandFrame({ id: 1, connect: { token } }));
      await expect.poll(() => after.frames.length).toBe(1);
      after.ws.send(bytesSent);
      expect((await after.closed).code).toBe(3501);
    }
    // A command with no id and no pong due, and a second connect, are protocol errors as in JSON.
    const noId = await rawProtobuf(gateway.wsUrl, 'centrifuge-protobuf');
    noId.ws.send(commandFrame({ id: 1, connect: { token } }, { rpc: { method: 'whoami' } }));
    expect((await noId.closed).code).toBe(3501);

    const healthy = client({ token });
    const connected = once(healthy, 'connected');
    healthy.connect();
    await connected;
    expect(json((await healthy.rpc('whoami', bytes({}))).data)).toEqual({ user: 'garbage' });
  });

  it('leaves the JSON codec as it was: a binary frame that is not JSON closes with 3501', async () => {
    const raw = await rawClient(gateway.wsUrl);
    raw.ws.send(Buffer.from([0x0a, 0x02, 0x08, 0x01]));
    expect((await raw.closed).code).toBe(3501);
    const text = await rawClient(gateway.wsUrl);
    text.sendText('{"id":1,"connect":');
    expect((await text.closed).code).toBe(3501);
  });
});
