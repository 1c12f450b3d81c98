import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Centrifuge, PublicationContext, SubscribedContext } from 'centrifuge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../test-support/databases.js';
import { officialClient, once, sleep, startGateway, startKeyServer, type GatewayServer, type KeyServer } from './support.js';

type Body = Record<string, unknown> & { data?: Record<string, unknown>; channel?: string };

/** The application backend: answers each proxy in Centrifugo's format, as the test decides. */
function backend(): { server: Server; calls: { path: string; body: Body }[]; answers: Record<string, (body: Body) => unknown> } {
  const calls: { path: string; body: Body }[] = [];
  const answers: Record<string, (body: Body) => unknown> = {};
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text) as Body;
      const route = request.url ?? '';
      calls.push({ path: route, body });
      const answer = answers[route]?.(body);
      if (answer === 'slow') return; // never answers: the gateway's timeout decides
      if (answer === 'broken') {
        response.writeHead(500).end('oops');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer ?? { result: {} }));
    });
  });
  return { server, calls, answers };
}

describe('proxies to the application backend (Centrifugo format)', () => {
  let dir: string;
  let database: TestDatabase;
  let keys: KeyServer;
  let gateway: GatewayServer;
  let app: ReturnType<typeof backend>;
  const clients: Centrifuge[] = [];

  beforeAll(async () => {
    app = backend();
    await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const proxy = (name: string) => ({ endpoint: `${base}/${name}`, timeout: '500ms', http_headers: ['x-app'], static_headers: { 'x-gateway': 'latchkey' } });
    dir = await mkdtemp(path.join(tmpdir(), 'latchkey-proxies-'));
    const file = path.join(dir, 'config.json');
    await writeFile(
      file,
      JSON.stringify({
        client: { proxy: { connect: { enabled: true, ...proxy('connect') }, refresh: { enabled: true, ...proxy('refresh') } } },
        channel: {
          proxy: { subscribe: proxy('subscribe'), publish: proxy('publish'), sub_refresh: proxy('sub_refresh') },
          namespaces: [
            { name: 'app', subscribe_proxy_enabled: true, publish_proxy_enabled: true, sub_refresh_proxy_enabled: true, history_size: 10, history_ttl: '60s', force_recovery: true },
            { name: 'closed' },
          ],
        },
      }),
    );
    database = await createTestDatabase('pglite');
    keys = await startKeyServer();
    gateway = await startGateway(database.db, { LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url, LATCHKEY_GATEWAY_CONFIG: file });
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await gateway?.close();
    await new Promise((resolve) => app.server.close(resolve));
    await keys?.close();
    await database?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const client = (options: Parameters<typeof officialClient>[1] = {}) => {
    const created = officialClient(gateway.wsUrl, options);
    clients.push(created);
    return created;
  };
  const callsTo = (route: string) => app.calls.filter((call) => call.path === route).map((call) => call.body);

  it('lets the connect proxy decide connects without a token: user, info, data, server-side channels, errors and disconnects', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    app.answers['/connect'] = (body) =>
      body.data?.password === 'right'
        ? { result: { user: '56', info: { name: 'Ada' }, data: { welcome: true }, channels: ['app:server-side'], meta: { plan: 'pro' }, expire_at: now() + 600 } }
        : body.data?.password === 'banned'
          ? { disconnect: { code: 4503, reason: 'banned' } }
          : { error: { code: 1401, message: 'wrong password' } };
    app.answers['/subscribe'] = () => ({ result: {} });
    const ok = client({ data: { password: 'right' }, name: 'test-app' });
    const connected = once<{ client: string; data?: unknown }>(ok, 'connected');
    ok.connect();
    const context = await connected;
    expect(context.data).toEqual({ welcome: true });
    expect(callsTo('/connect').at(-1)).toEqual({ client: context.client, transport: 'websocket', protocol: 'json', encoding: 'json', name: 'test-app', data: { password: 'right' } });
    // The connection is the backend's user, with its meta on later proxy calls; the server-side channel is live.
    const serverSide = once<PublicationContext>(ok, 'publication');
    await gateway.api('publish', { channel: 'app:server-side', data: { hello: 1 } });
    expect((await serverSide).data).toEqual({ hello: 1 });
    const subscription = ok.newSubscription('app:room');
    subscription.subscribe();
    await once(subscription, 'subscribed');
    expect(callsTo('/subscribe').at(-1)).toMatchObject({ client: context.client, user: '56', channel: 'app:room', meta: { plan: 'pro' } });

    const wrong = client({ data: { password: 'wrong' } });
    // An application error ends the client's attempts: it reports the backend's code and message.
    const refused = once<{ code: number; reason: string }>(wrong, 'disconnected');
    wrong.connect();
    expect(await refused).toMatchObject({ code: 1401, reason: 'wrong password' });

    const banned = client({ data: { password: 'banned' } });
    const closed = once<{ code: number; reason: string }>(banned, 'disconnected');
    banned.connect();
    expect(await closed).toMatchObject({ code: 4503, reason: 'banned' });
  });

  it('answers error 100 (temporary: the client retries) when the connect proxy times out or fails', async () => {
    let attempts = 0;
    app.answers['/connect'] = () => (++attempts === 1 ? 'slow' : attempts === 2 ? 'broken' : { result: { user: 'patient' } });
    const retrying = client();
    const errors: { error: { code: number; temporary?: boolean } }[] = [];
    retrying.on('error', (context: { error: { code: number; temporary?: boolean } }) => errors.push(context));
    const connected = once(retrying, 'connected', 15_000);
    retrying.connect();
    await connected;
    expect(errors.map((context) => [context.error.code, context.error.temporary])).toEqual([
      [100, true],
      [100, true],
    ]);
  });

  it('lets the subscribe proxy decide subscriptions, with channel info and data, refusals and a temporary error on timeout', async () => {
    app.answers['/connect'] = () => ({ result: { user: 'sam' } });
    let slow = true;
    app.answers['/subscribe'] = (body) =>
      body.channel === 'app:open'
        ? { result: { info: { seat: 7 }, data: { greeting: 'hi' } } }
        : body.channel === 'app:slow' && slow
          ? ((slow = false), 'slow')
          : body.channel === 'app:slow'
            ? { result: {} }
            : { error: { code: 403, message: 'permission denied' } };
    const centrifuge = client();
    centrifuge.connect();
    await once(centrifuge, 'connected');
    const open = centrifuge.newSubscription('app:open');
    const subscribed = once<SubscribedContext>(open, 'subscribed');
    open.subscribe();
    expect((await subscribed).data).toEqual({ greeting: 'hi' });
    const presenceOfInfo = once<PublicationContext>(open, 'publication');
    await centrifuge.publish('app:open', { text: 'with my seat' });
    expect((await presenceOfInfo).info).toMatchObject({ user: 'sam', chanInfo: { seat: 7 } });

    const refused = centrifuge.newSubscription('app:refused');
    const unsubscribed = once<{ code: number }>(refused, 'unsubscribed');
    refused.subscribe();
    expect(await unsubscribed).toMatchObject({ code: 403 });

    const timesOut = centrifuge.newSubscription('app:slow');
    const failed = once<{ error: { code: number; temporary?: boolean } }>(timesOut, 'error');
    const eventually = once(timesOut, 'subscribed', 15_000);
    timesOut.subscribe();
    expect((await failed).error).toMatchObject({ code: 100, temporary: true });
    await eventually;

    // A namespace without the proxy keeps its own rules.
    const closed = centrifuge.newSubscription('closed:x');
    const closedOut = once<{ code: number }>(closed, 'unsubscribed');
    closed.subscribe();
    expect(await closedOut).toMatchObject({ code: 103 });
  });

  it('lets the publish proxy allow, refuse and rewrite client publications', async () => {
    app.answers['/connect'] = () => ({ result: { user: 'pia' } });
    app.answers['/subscribe'] = () => ({ result: {} });
    app.answers['/publish'] = (body) =>
      body.data?.text === 'rewrite me' ? { result: { data: { text: 'rewritten' } } } : body.data?.text === 'forbidden' ? { error: { code: 1403, message: 'not here' } } : { result: {} };
    const centrifuge = client();
    centrifuge.connect();
    const subscription = centrifuge.newSubscription('app:wall');
    subscription.subscribe();
    await once(subscription, 'subscribed');
    const received: unknown[] = [];
    subscription.on('publication', (context: PublicationContext) => received.push(context.data));
    await centrifuge.publish('app:wall', { text: 'plain' });
    await centrifuge.publish('app:wall', { text: 'rewrite me' });
    await expect(centrifuge.publish('app:wall', { text: 'forbidden' })).rejects.toMatchObject({ code: 1403, message: 'not here' });
    for (let i = 0; i < 50 && received.length < 2; i += 1) await sleep(20);
    expect(received).toEqual([{ text: 'plain' }, { text: 'rewritten' }]);
    expect(callsTo('/publish').at(-1)).toMatchObject({ user: 'pia', channel: 'app:wall', data: { text: 'forbidden' } });
  });

  it('refreshes connections and subscriptions on the server through the refresh and sub_refresh proxies', async () => {
    const soon = (seconds = 1) => Math.floor(Date.now() / 1000) + seconds;
    // The subscription's refresh comes first (about a second in), the connection's later.
    app.answers['/connect'] = () => ({ result: { user: 'rex', expire_at: soon(4) } });
    let refreshes = 0;
    app.answers['/refresh'] = () => (++refreshes === 1 ? { result: { expire_at: soon() } } : { result: { expired: true } });
    app.answers['/subscribe'] = () => ({ result: { expire_at: soon() } });
    app.answers['/sub_refresh'] = () => ({ result: { expired: true } });
    const centrifuge = client();
    const connected = once<{ client: string }>(centrifuge, 'connected');
    centrifuge.connect();
    await connected;
    const subscription = centrifuge.newSubscription('app:ticking');
    const subscribed = once(subscription, 'subscribed');
    subscription.subscribe();
    await subscribed;
    // sub_refresh says expired: unsubscribe 2501, and the client subscribes again (through the subscribe proxy).
    const resubscribing = once<{ code: number }>(subscription, 'subscribing', 10_000);
    expect(await resubscribing).toMatchObject({ code: 2501 });
    expect(callsTo('/sub_refresh').at(-1)).toMatchObject({ user: 'rex', channel: 'app:ticking' });
    // The first refresh extends the connection, the second ends it with 3005; the client reconnects.
    const expired = once<{ code: number }>(centrifuge, 'connecting', 15_000);
    expect(await expired).toMatchObject({ code: 3005 });
    expect(refreshes).toBe(2);
    expect(callsTo('/refresh').at(-1)).toMatchObject({ user: 'rex' });
  });
});
