import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { createTestDatabase, type TestDatabase } from '../../../../test-support/databases.js';
import { rawClient, sleep, startGateway, startKeyServer, type GatewayServer, type KeyServer, type RawClient } from './support.js';

const CONFIG_SECRET = 'backend-shared-secret-0123456789abcdef';

describe('gateway wire protocol', () => {
  let database: TestDatabase;
  let keys: KeyServer;
  let gateway: GatewayServer;
  const open: RawClient[] = [];
  const connect = async (claims: Record<string, unknown> = { sub: 'u1' }, expiresIn?: number, autoPong = true) => {
    const client = await rawClient(gateway.wsUrl, { autoPong });
    open.push(client);
    client.send({ id: 1, connect: { token: await keys.mint(claims, expiresIn === undefined ? {} : { expiresIn }), name: 'test' } });
    // Generous: the first connect also fetches the JWKS, on a machine that may be busy.
    const reply = await client.reply(1, 15_000);
    return { client, reply };
  };

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    keys = await startKeyServer();
    gateway = await startGateway(database.db, {
      LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url,
      LATCHKEY_GATEWAY_SUBSCRIPTION_TOKEN_HMAC_SECRET: CONFIG_SECRET,
      // Short, but with room for a busy machine: every client here must pong within the timeout.
      LATCHKEY_GATEWAY_PING_INTERVAL: '2',
      LATCHKEY_GATEWAY_PONG_TIMEOUT: '1.5',
      LATCHKEY_GATEWAY_STALE_CLOSE_DELAY: '1',
      LATCHKEY_GATEWAY_MESSAGE_SIZE_LIMIT: '4096',
    });
  });
  afterAll(async () => {
    for (const client of open) client.ws.terminate();
    await gateway?.close();
    await keys?.close();
    await database?.dispose();
  });

  it('answers connect with client, version, expires/ttl and ping/pong', async () => {
    const { reply } = await connect({ sub: 'u1' }, 120);
    expect(reply).toMatchObject({ id: 1, connect: { client: expect.any(String), version: '0.1.0', expires: true, ping: 2, pong: true } });
    const ttl = (reply.connect as { ttl: number }).ttl;
    expect(ttl).toBeGreaterThan(110);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('always carries the result key, even for empty results', async () => {
    const { client } = await connect({ sub: 'u1', app_metadata: { organization_id: 'o1' } });
    client.send({ id: 2, subscribe: { channel: 'org:o1', flag: 1 } }, { id: 3, presence_stats: { channel: 'org:o1' } }, { id: 4, unsubscribe: { channel: 'org:o1' } });
    expect(await client.reply(2)).toEqual({ id: 2, subscribe: { positioned: true, recoverable: true, epoch: expect.any(String) } });
    expect(await client.reply(3)).toEqual({ id: 3, presence_stats: { num_clients: 1, num_users: 1 } });
    expect(await client.reply(4)).toEqual({ id: 4, unsubscribe: {} });
    client.send({ id: 5, unsubscribe: { channel: 'org:never' } }, { id: 6, ping: {} }, { id: 7, rpc: { method: 'x' } }, { id: 8, history: { channel: 'org:o1' } });
    expect(await client.reply(5)).toEqual({ id: 5, unsubscribe: {} });
    expect(await client.reply(6)).toEqual({ id: 6, ping: {} });
    expect(await client.reply(7)).toEqual({ id: 7, error: { code: 108, message: 'not available' } });
    // History of the organization channel is for its subscribers.
    expect(await client.reply(8)).toEqual({ id: 8, error: { code: 103, message: 'permission denied' } });
  });

  it('processes connect and subscribes sent in one frame, in order', async () => {
    const client = await rawClient(gateway.wsUrl);
    open.push(client);
    const token = await keys.mint({ sub: 'u2', app_metadata: { organization_id: 'o2' } });
    client.send({ id: 1, connect: { token } }, { id: 2, subscribe: { channel: 'org:o2' } }, { id: 3, subscribe: { channel: 'org:o2' } }, { id: 4, subscribe: { channel: 'org:o3' } });
    expect(await client.reply(1)).toHaveProperty('connect');
    expect(await client.reply(2)).toEqual({ id: 2, subscribe: { positioned: true, recoverable: true, epoch: expect.any(String) } });
    expect(await client.reply(3)).toEqual({ id: 3, error: { code: 105, message: 'already subscribed' } });
    expect(await client.reply(4)).toEqual({ id: 4, error: { code: 103, message: 'permission denied' } });
  });

  it('closes with 3501 for a command before connect, a second connect, garbage, and a command without id', async () => {
    const before = await rawClient(gateway.wsUrl);
    before.send({ id: 1, subscribe: { channel: 'org:o1' } });
    expect((await before.closed).code).toBe(3501);

    const { client: twice } = await connect();
    twice.send({ id: 2, connect: { token: 'x' } });
    expect(await twice.closed).toEqual({ code: 3501, reason: 'bad request' });

    const garbage = await rawClient(gateway.wsUrl);
    garbage.sendText('this is not json');
    expect((await garbage.closed).code).toBe(3501);

    const { client: noId } = await connect();
    noId.send({ rpc: { method: 'x' } });
    expect((await noId.closed).code).toBe(3501);

    const { client: unknown } = await connect();
    unknown.send({ id: 9, teleport: {} });
    expect((await unknown.closed).code).toBe(3501);
  });

  it('closes unauthenticated sockets with 3502 after the stale delay', async () => {
    const client = await rawClient(gateway.wsUrl);
    const started = Date.now();
    expect(await client.closed).toEqual({ code: 3502, reason: 'stale' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  });

  it('closes a socket whose connect failed when it sends more commands', async () => {
    const client = await rawClient(gateway.wsUrl);
    client.send({ id: 1, connect: { token: await keys.mint({ sub: 'u1' }, { expiresIn: -10 }) } }, { id: 2, subscribe: { channel: 'org:o1' } });
    expect(await client.reply(1)).toEqual({ id: 1, error: { code: 109, message: 'token expired' } });
    // The rest of that frame is dropped; the next frame closes the socket.
    await sleep(50);
    expect(client.received).toHaveLength(1);
    client.send({ id: 3, subscribe: { channel: 'org:o1' } });
    expect((await client.closed).code).toBe(3501);
  });

  it('enforces the message size limit', async () => {
    const { client } = await connect();
    client.send({ id: 2, rpc: { method: 'x', data: 'y'.repeat(8000) } });
    expect((await client.closed).code).toBe(1009);
  });

  it('pings with an empty reply; a pong keeps the connection, silence closes it with 3012', async () => {
    const { client: answering } = await connect();
    const { client: silent } = await connect({ sub: 'u1' }, undefined, false);
    await silent.next((message) => Object.keys(message).length === 0, 5000);
    expect(await silent.closed).toEqual({ code: 3012, reason: 'no pong' });
    expect(answering.ws.readyState).toBe(answering.ws.OPEN);
    expect(answering.received.filter((message) => Object.keys(message).length === 0).length).toBeGreaterThanOrEqual(1);
  });

  it('a pong with no ping outstanding is a protocol error', async () => {
    const { client } = await connect({ sub: 'u1' }, undefined, false);
    client.sendText('{}');
    expect((await client.closed).code).toBe(3501);
  });

  it('keeps presence and pushes join/leave to subscribers that ask for them', async () => {
    const claims = { app_metadata: { organization_id: 'o9' } };
    const { client: a, reply } = await connect({ ...claims, sub: 'alice', info: { name: 'Alice' } });
    const aliceId = (reply.connect as { client: string }).client;
    a.send({ id: 2, subscribe: { channel: 'org:o9', join_leave: true } });
    await a.reply(2);
    const { client: b, reply: bReply } = await connect({ ...claims, sub: 'bob' });
    const bobId = (bReply.connect as { client: string }).client;
    b.send({ id: 2, subscribe: { channel: 'org:o9' } });
    await b.reply(2);
    const join = await a.next((message) => (message.push as { join?: unknown } | undefined)?.join !== undefined && JSON.stringify(message).includes(bobId));
    expect(join).toEqual({ push: { channel: 'org:o9', join: { info: { user: 'bob', client: bobId } } } });

    a.send({ id: 3, presence: { channel: 'org:o9' } }, { id: 4, presence_stats: { channel: 'org:o9' } });
    expect(await a.reply(3)).toEqual({
      id: 3,
      presence: { presence: { [aliceId]: { user: 'alice', client: aliceId, conn_info: { name: 'Alice' } }, [bobId]: { user: 'bob', client: bobId } } },
    });
    expect(await a.reply(4)).toEqual({ id: 4, presence_stats: { num_clients: 2, num_users: 2 } });

    b.send({ id: 3, publish: { channel: 'org:o9', data: { x: 1 } } });
    expect(await b.reply(3)).toEqual({ id: 3, error: { code: 103, message: 'permission denied' } });

    b.ws.close();
    const leave = await a.next((message) => (message.push as { leave?: unknown } | undefined)?.leave !== undefined);
    expect(leave).toEqual({ push: { channel: 'org:o9', leave: { info: { user: 'bob', client: bobId } } } });
    // A presence request from a non-subscriber of another organization is refused.
    const { client: c } = await connect({ sub: 'carol', app_metadata: { organization_id: 'other' } });
    c.send({ id: 2, presence: { channel: 'org:o9' } });
    expect(await c.reply(2)).toEqual({ id: 2, error: { code: 103, message: 'permission denied' } });
  });

  it('lets only listed users into user-limited channels and rejects unknown namespaces', async () => {
    const { client } = await connect({ sub: 'dan' });
    client.send({ id: 2, subscribe: { channel: 'user:#dan' } }, { id: 3, subscribe: { channel: 'user:#eve' } }, { id: 4, subscribe: { channel: 'nope:x' } }, { id: 5, subscribe: { channel: 'plain' } });
    expect(await client.reply(2)).toEqual({ id: 2, subscribe: { positioned: true, recoverable: true, epoch: expect.any(String) } });
    expect(await client.reply(3)).toEqual({ id: 3, error: { code: 103, message: 'permission denied' } });
    expect(await client.reply(4)).toEqual({ id: 4, error: { code: 102, message: 'unknown channel' } });
    expect(await client.reply(5)).toEqual({ id: 5, error: { code: 103, message: 'permission denied' } });
    await gateway.gateway.publish('user:#dan', { direct: true });
    expect(await client.next((message) => message.push !== undefined)).toEqual({ push: { channel: 'user:#dan', pub: { data: { direct: true }, offset: 1 } } });
  });

  it('subscribes private channels with subscription tokens and refreshes them with sub_refresh', async () => {
    const subToken = (claims: Record<string, unknown>, expiresIn = 60) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn).sign(new TextEncoder().encode(CONFIG_SECRET));
    const { client } = await connect({ sub: 'fay' });
    client.send({ id: 2, subscribe: { channel: '$secret' } });
    expect(await client.reply(2)).toEqual({ id: 2, error: { code: 103, message: 'permission denied' } });
    client.send({ id: 3, subscribe: { channel: '$secret', token: await subToken({ sub: 'fay', channel: '$secret', info: { seat: 1 } }, 30) } });
    const reply = await client.reply(3);
    expect(reply).toMatchObject({ id: 3, subscribe: { expires: true } });
    client.send({ id: 4, sub_refresh: { channel: '$secret', token: await subToken({ sub: 'fay', channel: '$secret' }, 90) } });
    const refreshed = await client.reply(4);
    expect((refreshed.sub_refresh as { ttl: number }).ttl).toBeGreaterThan(80);
    client.send({ id: 5, subscribe: { channel: '$other', token: await subToken({ sub: 'fay', channel: '$other' }, -5) } });
    expect(await client.reply(5)).toEqual({ id: 5, error: { code: 109, message: 'token expired' } });
    client.send({ id: 6, subscribe: { channel: '$third', token: await subToken({ sub: 'someone-else', channel: '$third' }) } });
    expect((await client.closed).code).toBe(3500);
  });

  it('refreshes in-band and closes with 3500 when the refresh token belongs to another user', async () => {
    const { client } = await connect({ sub: 'gus' }, 30);
    client.send({ id: 2, refresh: { token: await keys.mint({ sub: 'gus' }, { expiresIn: 300 }) } });
    const refreshed = await client.reply(2);
    expect(refreshed).toMatchObject({ id: 2, refresh: { expires: true, client: expect.any(String) } });
    expect((refreshed.refresh as { ttl: number }).ttl).toBeGreaterThan(290);
    client.send({ id: 3, refresh: { token: await keys.mint({ sub: 'hal' }) } });
    expect(await client.closed).toEqual({ code: 3500, reason: 'invalid token' });
  });

  it('closes with 3005 when a refresh token is already expired', async () => {
    const { client } = await connect({ sub: 'ivy' }, 30);
    client.send({ id: 2, refresh: { token: await keys.mint({ sub: 'ivy' }, { expiresIn: -1 }) } });
    expect(await client.closed).toEqual({ code: 3005, reason: 'connection expired' });
  });

  it('subscribes server-side to the channels claim', async () => {
    const { client, reply } = await connect({ sub: 'jan', channels: ['user:#jan'] });
    expect(reply).toMatchObject({ connect: { subs: { 'user:#jan': {} } } });
    await sleep(50);
    await gateway.gateway.publish('user:#jan', 'hi');
    expect(await client.next((message) => message.push !== undefined)).toEqual({ push: { channel: 'user:#jan', pub: { data: 'hi', offset: 1 } } });
  });

  it('disconnects users through the server API', async () => {
    const { client } = await connect({ sub: 'kai' });
    expect(await gateway.api('disconnect', { user: 'kai' })).toEqual({ status: 200, body: { result: {} } });
    expect(await client.closed).toEqual({ code: 3503, reason: 'force disconnect' });
    const { client: again } = await connect({ sub: 'kai' });
    await gateway.api('disconnect', { user: 'kai', disconnect: { code: 4001, reason: 'go away' } });
    expect(await again.closed).toEqual({ code: 4001, reason: 'go away' });
  });

  it('answers server API errors in Centrifugo shape', async () => {
    expect(await gateway.api('publish', '{not json')).toMatchObject({ status: 400, body: { error: { code: 107 } } });
    expect(await gateway.api('publish', { data: {} })).toEqual({ status: 200, body: { error: { code: 107, message: 'channel required' } } });
    expect(await gateway.api('publish', { channel: 'nope:1', data: {} })).toEqual({ status: 200, body: { error: { code: 102, message: 'unknown channel' } } });
    expect(await gateway.api('publish', { channel: 'org:1' })).toEqual({ status: 200, body: { error: { code: 107, message: 'data required' } } });
    expect(await gateway.api('presence', { channel: 'user:#x' })).toEqual({ status: 200, body: { error: { code: 108, message: 'not available' } } });
    expect(await gateway.api('broadcast', { channels: ['org:1', 'nope:2'], data: 1 })).toEqual({
      status: 200,
      body: { result: { responses: [{ result: { offset: 1, epoch: expect.any(String) } }, { error: { code: 102, message: 'unknown channel' } }] } },
    });
    expect(await gateway.api('presence_stats', { channel: 'org:none' })).toEqual({ status: 200, body: { result: { num_clients: 0, num_users: 0 } } });
    expect(await gateway.api('nothing', {})).toMatchObject({ status: 404 });
  });
});

describe('gateway fan-out batching', () => {
  let database: TestDatabase;
  let keys: KeyServer;
  let gateway: GatewayServer;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    keys = await startKeyServer();
    gateway = await startGateway(database.db, { LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url });
  });
  afterAll(async () => {
    await gateway?.close();
    await keys?.close();
    await database?.dispose();
  });

  it('joins a burst of publications into newline-separated frames, in order, without loss', async () => {
    const client = await rawClient(gateway.wsUrl);
    client.send({ id: 1, connect: { token: await keys.mint({ sub: 'burst' }) } }, { id: 2, subscribe: { channel: 'user:#burst' } });
    await client.reply(2, 15_000);
    const frames: string[] = [];
    client.ws.on('message', (data: Buffer) => frames.push(data.toString()));
    await Promise.all(Array.from({ length: 50 }, (_, n) => gateway.gateway.publish('user:#burst', { n })));
    const pushes = () => client.received.filter((message) => message.push !== undefined);
    await expect.poll(() => pushes().length).toBe(50);
    expect(pushes().map((message) => (message.push as { pub: { data: { n: number } } }).pub.data.n)).toEqual(Array.from({ length: 50 }, (_, n) => n));
    expect(frames.length).toBeLessThan(50);
    client.ws.close();
  });
});
