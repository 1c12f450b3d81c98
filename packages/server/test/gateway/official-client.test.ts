import { Centrifuge, UnauthorizedError } from 'centrifuge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../test-support/databases.js';
import { RpcError } from '../../src/gateway/index.js';
import { API_KEY, officialClient, once, sleep, startGateway, startKeyServer, type GatewayServer, type KeyServer } from './support.js';

interface Ctx {
  code?: number;
  reason?: string;
  error?: { code: number; message: string; temporary?: boolean };
  data?: unknown;
}

describe('gateway with the official centrifuge client', () => {
  let database: TestDatabase;
  let keys: KeyServer;
  let gateway: GatewayServer;
  const clients: Centrifuge[] = [];
  const client = (options: Parameters<typeof officialClient>[1] = {}) => {
    const created = officialClient(gateway.wsUrl, options);
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    keys = await startKeyServer();
    gateway = await startGateway(database.db, {
      LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url,
      LATCHKEY_GATEWAY_EXPIRED_CLOSE_DELAY: '2',
    });
    gateway.gateway.registerRpc<{ text: string }, { echo: string; user: string }>('echo', (data, context) => ({ echo: data.text, user: context.user }));
    gateway.gateway.registerRpc('forbidden', () => {
      throw new RpcError(403, 'not yours');
    });
    gateway.gateway.registerRpc('broken', () => {
      throw new Error('database exploded');
    });
  });
  afterAll(async () => {
    for (const created of clients) created.disconnect();
    await gateway?.close();
    await keys?.close();
    await database?.dispose();
  });

  it('connects with a token and makes RPC calls', async () => {
    const token = await keys.mint({ sub: 'user-1', info: { name: 'Kim' } });
    const centrifuge = client({ token });
    const connected = once<{ client: string }>(centrifuge, 'connected');
    centrifuge.connect();
    expect((await connected).client).toMatch(/^[0-9a-f-]{36}$/);

    const reply = await centrifuge.rpc('echo', { text: 'hello' });
    expect(reply.data).toEqual({ echo: 'hello', user: 'user-1' });
    await expect(centrifuge.rpc('nope', {})).rejects.toMatchObject({ code: 104 });
    await expect(centrifuge.rpc('forbidden', {})).rejects.toMatchObject({ code: 403, message: 'not yours' });
    await expect(centrifuge.rpc('broken', {})).rejects.toMatchObject({ code: 100, message: 'internal server error' });
  });

  it('delivers /api/publish publications on the organization channel and refuses another organization with 103', async () => {
    const token = await keys.mint({ sub: 'user-2', app_metadata: { organization_id: 'org-a' } });
    const centrifuge = client({ token });
    centrifuge.connect();
    const own = centrifuge.newSubscription('org:org-a');
    const subscribed = once(own, 'subscribed');
    const publication = once<{ data: unknown }>(own, 'publication');
    own.subscribe();
    await subscribed;

    const published = await gateway.api('publish', { channel: 'org:org-a', data: { note: 'created' } });
    expect(published).toEqual({ status: 200, body: { result: { offset: 1, epoch: expect.any(String) } } });
    expect((await publication).data).toEqual({ note: 'created' });

    const other = centrifuge.newSubscription('org:org-b');
    const unsubscribed = once<Ctx>(other, 'unsubscribed');
    other.subscribe();
    expect(await unsubscribed).toMatchObject({ code: 103 });

    const stats = await centrifuge.presenceStats('org:org-a');
    expect(stats).toEqual({ numClients: 1, numUsers: 1 });
  });

  it('keeps a 3-second token fresh in-band through getToken with no disconnect for 10 s', async () => {
    let calls = 0;
    const centrifuge = client({
      token: await keys.mint({ sub: 'user-3' }, { expiresIn: 3 }),
      getToken: async () => {
        calls += 1;
        return keys.mint({ sub: 'user-3' }, { expiresIn: 3 });
      },
    });
    const states: string[] = [];
    centrifuge.on('disconnected', () => states.push('disconnected'));
    centrifuge.on('connecting', (ctx: Ctx) => states.push(`connecting ${ctx.code}`));
    const connected = once(centrifuge, 'connected');
    centrifuge.connect();
    await connected;
    states.length = 0;
    await sleep(10_000);
    expect(states).toEqual([]);
    expect(centrifuge.state).toBe('connected');
    expect(calls).toBeGreaterThanOrEqual(3);
    expect((await centrifuge.rpc('echo', { text: 'still here' })).data).toMatchObject({ echo: 'still here' });
  }, 20_000);

  it('closes a connection that never refreshes with 3005; the client reconnects, gets 109, calls getToken and carries on', async () => {
    let calls = 0;
    const events: string[] = [];
    const centrifuge = client({
      token: await keys.mint({ sub: 'user-4' }, { expiresIn: 2 }),
      getToken: async () => {
        calls += 1;
        events.push(`getToken ${calls}`);
        // The first refresh fails (as for a client that is offline); the client would retry only after 5–10 s.
        if (calls === 1) throw new Error('offline');
        return keys.mint({ sub: 'user-4' }, { expiresIn: 60 });
      },
    });
    centrifuge.on('connecting', (ctx: Ctx) => events.push(`connecting ${ctx.code}`));
    centrifuge.on('error', (ctx: Ctx) => {
      if (ctx.error) events.push(`error ${ctx.error.code}`);
    });
    centrifuge.on('connected', () => events.push('connected'));
    const first = once(centrifuge, 'connected');
    centrifuge.connect();
    await first;
    await expect.poll(() => events.filter((event) => event === 'connected').length, { timeout: 12_000 }).toBe(2);
    expect(events).toContain('connecting 3005');
    expect(events).toContain('error 109');
    expect(events.indexOf('error 109')).toBeGreaterThan(events.indexOf('connecting 3005'));
    expect(events.indexOf('getToken 2')).toBeGreaterThan(events.indexOf('error 109'));
    expect((await centrifuge.rpc('echo', { text: 'back' })).data).toMatchObject({ echo: 'back', user: 'user-4' });
  }, 20_000);

  it('ends disconnected with 3500 for an invalid token', async () => {
    const centrifuge = client({ token: await keys.mint({ sub: 'user-5' }, { key: 'foreign' }) });
    const disconnected = once<Ctx>(centrifuge, 'disconnected');
    centrifuge.connect();
    expect(await disconnected).toMatchObject({ code: 3500, reason: 'invalid token' });
    await sleep(300);
    expect(centrifuge.state).toBe('disconnected');
  });

  it('refuses anonymous connections with 3501 when insecure mode is off', async () => {
    const centrifuge = client();
    const disconnected = once<Ctx>(centrifuge, 'disconnected');
    centrifuge.connect();
    expect(await disconnected).toMatchObject({ code: 3501 });
  });

  it('stops with "unauthorized" when getToken throws UnauthorizedError', async () => {
    const centrifuge = client({
      getToken: async () => {
        throw new UnauthorizedError('signed out');
      },
    });
    const disconnected = once<Ctx>(centrifuge, 'disconnected');
    centrifuge.connect();
    expect(await disconnected).toMatchObject({ code: 1 });
  });

  it('answers 100 temporary while the JWKS is down; the client retries and connects once it is back', async () => {
    const down = await startKeyServer();
    const gatewayDown = await startGateway(database.db, { LATCHKEY_GATEWAY_TOKEN_JWKS_URL: down.url });
    try {
      down.up = false;
      const token = await down.mint({ sub: 'user-6' });
      const centrifuge = officialClient(gatewayDown.wsUrl, { token });
      clients.push(centrifuge);
      const errors: Ctx[] = [];
      centrifuge.on('error', (ctx: Ctx) => errors.push(ctx));
      centrifuge.connect();
      await expect.poll(() => errors.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
      expect(errors[0]?.error).toMatchObject({ code: 100, temporary: true });
      expect(centrifuge.state).toBe('connecting');
      down.up = true;
      await expect.poll(() => centrifuge.state, { timeout: 10_000 }).toBe('connected');
    } finally {
      await gatewayDown.close();
      await down.close();
    }
  }, 20_000);

  it('opens every channel to anonymous connections in insecure mode', async () => {
    const insecure = await startGateway(database.db, { LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url, LATCHKEY_GATEWAY_INSECURE: 'true' });
    try {
      const centrifuge = officialClient(insecure.wsUrl);
      clients.push(centrifuge);
      const connected = once(centrifuge, 'connected');
      centrifuge.connect();
      await connected;
      const sub = centrifuge.newSubscription('org:anything');
      const publication = once<{ data: unknown }>(sub, 'publication');
      sub.subscribe();
      await once(sub, 'subscribed');
      await sub.publish({ hello: 'world' });
      expect((await publication).data).toEqual({ hello: 'world' });
    } finally {
      await insecure.close();
    }
  });

  it('uses the API key', async () => {
    expect(await gateway.api('info', {}, null)).toMatchObject({ status: 401 });
    expect(await gateway.api('info', {}, 'wrong-key-wrong-key')).toMatchObject({ status: 401 });
    const info = await gateway.api('info', {}, API_KEY);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ result: { nodes: [expect.objectContaining({ version: '0.1.0' })] } });
  });
});
