import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Centrifuge } from 'centrifuge';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { startNode, type Node } from './support.js';

const API_KEY = 'broker-loss-gateway-key-0123456789';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A redis-server of this test alone (the shared one is never stopped). */
function redisServer(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

async function redisAnswers(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('redis-server did not start');
}

describeWith(['DATABASE_URL', 'REDIS_URL'], 'nodes losing Redis for a while', () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let port: number;
  let redis: ChildProcess;
  let a: Node;
  let b: Node;
  let client: Centrifuge;

  const stopRedis = async () => {
    const exited = new Promise((resolve) => redis.once('exit', resolve));
    redis.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    database = await createPostgresDatabase();
    port = await freePort();
    redis = redisServer(port);
    const env = { REDIS_URL: `redis://127.0.0.1:${port}`, LATCHKEY_REDIS_PREFIX: 'broker-loss', LATCHKEY_GATEWAY_API_KEY: API_KEY, LATCHKEY_GATEWAY_INSECURE: 'true' };
    await redisAnswers(port);
    a = await startNode(database.url, env);
    b = await startNode(database.url, env);
  });
  afterAll(async () => {
    client?.disconnect();
    await a?.close();
    await b?.close();
    if (redis && redis.exitCode === null) await stopRedis();
    await database?.drop();
  });

  const publish = (data: unknown) =>
    fetch(`${a.url}/api/publish`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'news', data }) });

  it('keeps sockets and subscriptions open, answers publishes 503 with Retry-After meanwhile, and delivers again once Redis is back', async () => {
    client = new Centrifuge(`${b.url.replace(/^http/, 'ws')}/connection/websocket`, { websocket: WebSocket as never });
    const received: unknown[] = [];
    const closes: number[] = [];
    client.on('disconnected', (context: { code: number }) => closes.push(context.code));
    client.on('connecting', (context: { code: number }) => closes.push(context.code));
    const subscription = client.newSubscription('news');
    subscription.on('publication', (context: { data: unknown }) => received.push(context.data));
    const subscribed = new Promise((resolve) => subscription.once('subscribed', resolve));
    subscription.subscribe();
    client.connect();
    await subscribed;
    const connectingBefore = closes.length;
    expect((await publish({ n: 1 })).status).toBe(200);
    await expect.poll(() => received).toEqual([{ n: 1 }]);

    await stopRedis();
    await expect.poll(async () => ((await (await fetch(`${a.url}/health`)).json()) as { broker: { status: string } }).broker.status).toBe('down');
    const health = await fetch(`${a.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'degraded', database: { status: 'up' }, broker: { status: 'down', kind: 'redis' } });
    const refused = await publish({ n: 2 });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');

    redis = redisServer(port);
    const back = performance.now();
    await expect.poll(async () => (await publish({ n: 3 })).status, { timeout: 15_000, interval: 100 }).toBe(200);
    await expect.poll(() => received.some((item) => (item as { n: number }).n === 3), { timeout: 5000, interval: 50 }).toBe(true);
    expect(performance.now() - back).toBeLessThan(15_000);
    // The socket never closed and the subscription carried on without a resubscribe by the client.
    expect(closes.slice(connectingBefore)).toEqual([]);
    expect(client.state).toBe('connected');
    expect(received).not.toContainEqual({ n: 2 });
    await expect.poll(async () => ((await (await fetch(`${b.url}/health`)).json()) as { status: string }).status).toBe('ok');
  });
});
