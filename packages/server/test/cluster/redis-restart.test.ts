import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Centrifuge, type Subscription } from 'centrifuge';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { startNode, startRelay, type Node, type Relay } from './support.js';

const API_KEY = 'redis-restart-gateway-key-0123456789';
const CHANNEL = 'org:restart';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function answers(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('redis-server did not start');
}

/** What one realtime client saw: publications, socket closes and its subscription's events. */
interface Watched {
  readonly client: Centrifuge;
  readonly subscription: Subscription;
  readonly received: number[];
  /** Codes of every disconnect or reconnect of the socket. */
  readonly closes: number[];
  /** Codes of every resubscribe the server asked for. */
  readonly resubscribes: number[];
  readonly subscribed: { wasRecovering: boolean; recovered: boolean }[];
}

describeWith(['DATABASE_URL', 'REDIS_URL'], 'nodes through a Redis restart, with channel history', () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let dir: string;
  let port: number;
  let redis: ChildProcess | undefined;
  let relay: Relay;
  let a: Node;
  let b: Node;
  let watched: Watched;
  let seq = 0;

  /** A private redis-server persisted with an append-only file in `dir` (as a production Redis is). */
  const startRedis = async () => {
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' });
    await answers(port);
  };
  /** `redis-cli shutdown`: SIGTERM, the append-only file is complete. */
  const stopRedis = async () => {
    const current = redis;
    redis = undefined;
    if (!current || current.exitCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGTERM');
    await exited;
  };
  const brokerOf = async (node: Node) => ((await (await fetch(`${node.url}/health`)).json()) as { broker: { status: string } }).broker.status;
  /** Publishes the next number through node a; returns it when acknowledged, `null` when refused. */
  const publish = async (): Promise<number | null> => {
    seq += 1;
    const n = seq;
    const response = await fetch(`${a.url}/api/publish`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: CHANNEL, data: { n } }),
    });
    const body = (await response.json().catch(() => null)) as { error?: unknown } | null;
    return response.status === 200 && !body?.error ? n : null;
  };
  /** Publishes until one is acknowledged (Redis coming back); returns every acknowledged number. */
  const publishUntilAcknowledged = async (): Promise<number[]> => {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const n = await publish();
      if (n !== null) return [n];
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('no publication acknowledged');
  };

  beforeAll(async () => {
    database = await createPostgresDatabase();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-redis-restart-'));
    port = await freePort();
    await startRedis();
    relay = await startRelay(port);
    const env = { LATCHKEY_REDIS_PREFIX: 'redis-restart', LATCHKEY_GATEWAY_API_KEY: API_KEY, LATCHKEY_GATEWAY_INSECURE: 'true' };
    a = await startNode(database.url, { ...env, REDIS_URL: `redis://127.0.0.1:${port}` });
    // Node b reaches Redis through a relay the test can cut, so it alone can lose Redis.
    b = await startNode(database.url, { ...env, REDIS_URL: `redis://127.0.0.1:${relay.port}` });

    const client = new Centrifuge(`${b.url.replace(/^http/, 'ws')}/connection/websocket`, { websocket: WebSocket as never });
    const seen: Watched = { client, subscription: client.newSubscription(CHANNEL), received: [], closes: [], resubscribes: [], subscribed: [] };
    client.on('disconnected', (context: { code: number }) => seen.closes.push(context.code));
    client.on('connecting', (context: { code: number }) => {
      if (context.code !== 0) seen.closes.push(context.code);
    });
    seen.subscription.on('publication', (context: { data: unknown }) => seen.received.push((context.data as { n: number }).n));
    seen.subscription.on('subscribing', (context: { code: number }) => {
      if (context.code !== 0) seen.resubscribes.push(context.code);
    });
    seen.subscription.on('subscribed', (context: { wasRecovering: boolean; recovered: boolean }) => seen.subscribed.push({ wasRecovering: context.wasRecovering, recovered: context.recovered }));
    const subscribed = new Promise((resolve) => seen.subscription.once('subscribed', resolve));
    seen.subscription.subscribe();
    client.connect();
    await subscribed;
    watched = seen;
  });
  afterAll(async () => {
    watched?.client.disconnect();
    await a?.close();
    await b?.close();
    await relay?.cut();
    await stopRedis();
    await database?.drop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('a node cut off from Redis while another publishes: its subscriber is told to resubscribe (2500), recovers every publication it missed, and keeps its socket', async () => {
    const first = await publish();
    await expect.poll(() => watched.received).toEqual([first]);
    await relay.cut();
    await expect.poll(() => brokerOf(b)).toBe('down');
    // Node a still reaches Redis: these are acknowledged and kept in the channel's stream.
    const missed = [await publish(), await publish(), await publish()];
    expect(missed).not.toContain(null);
    await relay.restore();
    await expect.poll(() => watched.received, { timeout: 10_000, interval: 20 }).toEqual([first, ...missed]);
    const after = await publish();
    await expect.poll(() => watched.received, { timeout: 5000, interval: 20 }).toEqual([first, ...missed, after]);
    expect(watched.closes).toEqual([]);
    expect(watched.resubscribes).toEqual([2500]);
    expect(watched.subscribed.at(-1)).toEqual({ wasRecovering: true, recovered: true });
  });

  it('Redis restarted with its data: no socket closed, and every publication acknowledged after its return is delivered within a second', async () => {
    const before = watched.received.length;
    const resubscribesBefore = watched.resubscribes.length;
    await stopRedis();
    await expect.poll(() => brokerOf(b)).toBe('down');
    expect(await publish()).toBeNull();
    await startRedis();
    const back = performance.now();
    const acknowledged = await publishUntilAcknowledged();
    for (let round = 0; round < 5; round += 1) {
      const n = await publish();
      if (n !== null) acknowledged.push(n);
    }
    await expect.poll(() => watched.received.length > before, { timeout: 5000, interval: 10 }).toBe(true);
    const resumed = performance.now() - back;
    await expect.poll(() => watched.received.slice(before), { timeout: 10_000, interval: 20 }).toEqual(acknowledged);
    expect(watched.closes).toEqual([]);
    // Any resubscribe asked for recovered what was missed (the stream kept its epoch).
    for (const code of watched.resubscribes.slice(resubscribesBefore)) expect(code).toBe(2500);
    expect(watched.subscribed.at(-1)?.recovered ?? true).toBe(true);
    expect(resumed).toBeLessThan(2000);
  });

  it('Redis restarted empty: the stream starts a new epoch, the subscriber is told to resubscribe and reports recovered false, and its socket stays open', async () => {
    const subscribedBefore = watched.subscribed.length;
    await stopRedis();
    await expect.poll(() => brokerOf(b)).toBe('down');
    for (const file of await fs.readdir(dir)) await fs.rm(path.join(dir, file), { recursive: true, force: true });
    await startRedis();
    await expect.poll(() => watched.subscribed.length, { timeout: 10_000, interval: 20 }).toBeGreaterThan(subscribedBefore);
    expect(watched.subscribed.at(-1)).toEqual({ wasRecovering: true, recovered: false });
    expect(watched.resubscribes.at(-1)).toBe(2500);
    const after = (await publishUntilAcknowledged())[0]!;
    await expect.poll(() => watched.received.includes(after), { timeout: 5000, interval: 20 }).toBe(true);
    expect(watched.closes).toEqual([]);
    expect(watched.client.state).toBe('connected');
  });
});
