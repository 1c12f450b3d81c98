import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createLogger, loadServerConfig, startServer } from '@latchkey/server';
import { createTestDatabase, type TestDatabase } from '../../../../test-support/databases.js';
import { loadGatewaySettings, parseCentrifugoConfig } from '../../src/gateway/index.js';
import { LATCHKEY_BIN, spawnNode } from '../../../../test-support/processes.js';
import { officialClient, once } from './support.js';

const SECRET = 'centrifugo-hmac-secret-for-tests-0123456789';

const CENTRIFUGO_CONFIG = {
  client: {
    token: { hmac_secret_key: SECRET },
    allowed_origins: ['http://localhost:3000'],
    ping_interval: '20s',
    pong_timeout: '5s',
    expired_close_delay: '1m30s',
    history_max_publication_limit: 100,
  },
  channel: {
    without_namespace: { presence: true, allow_subscribe_for_client: true },
    namespaces: [
      { name: 'chat', allow_subscribe_for_client: true, allow_publish_for_subscriber: true, join_leave: true, history_size: 10, history_ttl: '300s' },
      { name: 'feed', allow_subscribe_for_client: true, history_size: 0 },
    ],
  },
  http_api: { key: 'file-api-key-0123456789abcdef' },
  admin: { enabled: true, password: 'x' },
  engine: { type: 'redis' },
};

describe('Centrifugo config files', () => {
  let dir: string;
  let database: TestDatabase;
  /** Starts a server with the gateway from `file`, collecting its warning lines. */
  const startFromFile = async (file: string) => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').trim().split('\n'));
        done();
      },
    });
    const server = await startServer({
      env: { LATCHKEY_GATEWAY_CONFIG: file },
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'warn' }),
      logger: createLogger('warn', sink),
      database: database.db,
      services: { gateway: true },
    });
    return { server, lines };
  };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'latchkey-gateway-'));
    database = await createTestDatabase('pglite');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await database?.dispose();
  });

  it('reads the supported subset and lists every unsupported key', () => {
    const config = parseCentrifugoConfig(CENTRIFUGO_CONFIG, '--gateway-config');
    expect(config.unsupported).toEqual(['client.history_max_publication_limit', 'admin', 'engine']);
    expect(config.pingInterval).toBe(20);
    expect(config.expiredCloseDelay).toBe(90);
    expect(config.namespaces?.map((namespace) => namespace.name)).toEqual(['chat', 'feed']);
    expect(config.token).toEqual({ hmac_secret_key: SECRET });
  });

  it('names the bad key of a malformed file', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ client: { ping_interval: 'soon' } }));
    expect(() => loadGatewaySettings({ LATCHKEY_GATEWAY_CONFIG: file })).toThrow(ConfigError);
    expect(() => loadGatewaySettings({ LATCHKEY_GATEWAY_CONFIG: file })).toThrow(/LATCHKEY_GATEWAY_CONFIG: client.ping_interval must be a duration/);
    await writeFile(file, '{');
    expect(() => loadGatewaySettings({}, { configFile: file })).toThrow(/--gateway-config: .* is not valid JSON/);
    expect(() => loadGatewaySettings({ LATCHKEY_GATEWAY_PING_INTERVAL: '5', LATCHKEY_GATEWAY_PONG_TIMEOUT: '8' })).toThrow(/LATCHKEY_GATEWAY_PONG_TIMEOUT/);
  });

  it('reads the older top-level client_queue_max_size and channel_max_length', () => {
    expect(parseCentrifugoConfig({ client_queue_max_size: 4096, channel_max_length: 64 }, 'f')).toMatchObject({ queueMaxSize: 4096, maxLength: 64, unsupported: [] });
    expect(parseCentrifugoConfig({ client: { queue_max_size: 2048 }, channel: { max_length: 32 } }, 'f')).toMatchObject({ queueMaxSize: 2048, maxLength: 32 });
    expect(() => parseCentrifugoConfig({ channel: { namespaces: [{ name: 'half', history_size: 10 }] } }, 'f')).toThrow(/both history_size and history_ttl/);
    expect(() => parseCentrifugoConfig({ channel: { namespaces: [{ name: 'bad', allowed_delta_types: ['xdelta'] }] } }, 'f')).toThrow(/unknown delta type/);
  });

  it("starts from a file shaped like the official client's test configuration: short API key with one warning, recovery and deltas", async () => {
    const file = path.join(dir, 'client-test-config.json');
    await writeFile(
      file,
      JSON.stringify({
        client: { insecure: true, concurrency: 8, token: { hmac_secret_key: 'secret' } },
        log: { level: 'trace' },
        http_api: { key: 'test-api-key' },
        channel: {
          without_namespace: { presence: true, allowed_delta_types: ['fossil'], delta_publish: true, history_size: 100, history_ttl: '300s', force_recovery: true },
          namespaces: [
            { name: 'recovery', force_recovery: true, history_size: 100, history_ttl: '300s', allow_subscribe_for_client: true, allow_publish_for_subscriber: true },
            { name: 'streamless', subscription_type: 'map', allow_subscribe_for_client: true },
          ],
        },
      }),
    );
    const { server, lines } = await startFromFile(file);
    const centrifuge = officialClient(`${server.url.replace(/^http/, 'ws')}/connection/websocket`);
    try {
      const warnings = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(warnings.filter((line) => line.includes('shorter than 16 characters'))).toHaveLength(1);
      expect(warnings).toEqual(expect.arrayContaining(['gateway config: unsupported key client.concurrency is ignored', 'gateway config: unsupported key log is ignored', 'gateway config: unsupported key channel.namespaces[streamless].subscription_type is ignored']));
      const api = (body: unknown) => fetch(`${server.url}/api/publish`, { method: 'POST', headers: { 'x-api-key': 'test-api-key' }, body: JSON.stringify(body) });
      centrifuge.connect();
      await once(centrifuge, 'connected');
      const subscription = centrifuge.newSubscription('recovery:config-file');
      subscription.subscribe();
      await once(subscription, 'subscribed');
      centrifuge.disconnect();
      expect((await api({ channel: 'recovery:config-file', data: { missed: true } })).status).toBe(200);
      const again = once<{ recovered: boolean }>(subscription, 'subscribed');
      const missed = once<{ data: unknown }>(subscription, 'publication');
      centrifuge.connect();
      expect(await again).toMatchObject({ recovered: true });
      expect((await missed).data).toEqual({ missed: true });
      const deltas = centrifuge.newSubscription('plain-delta', { delta: 'fossil' });
      const received = new Promise<unknown[]>((resolve) => {
        const seen: unknown[] = [];
        deltas.on('publication', (context: { data: unknown }) => {
          seen.push(context.data);
          if (seen.length === 2) resolve(seen);
        });
      });
      deltas.subscribe();
      await once(deltas, 'subscribed');
      const body = (n: number) => ({ text: 'a fairly long text that changes only a little '.repeat(5), n });
      await api({ channel: 'plain-delta', data: body(1) });
      await api({ channel: 'plain-delta', data: body(2) });
      expect(await received).toEqual([body(1), body(2)]);
      expect(deltas.deltaStats().numDeltaPayloads).toBe(1);
    } finally {
      centrifuge.disconnect();
      await server.close();
    }
  });

  it('runs from a Centrifugo file: HMAC tokens from a backend, namespaces, and a warning per unsupported key', async () => {
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify(CENTRIFUGO_CONFIG));
    const { server, lines } = await startFromFile(file);
    try {
      const warnings = lines.map((line) => JSON.parse(line) as { msg: string }).map((line) => line.msg);
      expect(warnings).toEqual(expect.arrayContaining(['gateway config: unsupported key admin is ignored', 'gateway config: unsupported key engine is ignored']));
      expect(server.banner.join('\n')).toContain('file-api-key-0123456789abcdef');

      const token = await new SignJWT({ sub: 'backend-user' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
      const centrifuge = officialClient(`${server.url.replace(/^http/, 'ws')}/connection/websocket`, { token });
      try {
        centrifuge.connect();
        await once(centrifuge, 'connected');
        const chat = centrifuge.newSubscription('chat:lobby');
        const publication = once<{ data: unknown; info?: { user: string } }>(chat, 'publication');
        chat.subscribe();
        await once(chat, 'subscribed');
        await chat.publish({ text: 'hi' });
        expect(await publication).toMatchObject({ data: { text: 'hi' }, info: { user: 'backend-user' } });
        const feed = centrifuge.newSubscription('feed:news');
        feed.subscribe();
        await once(feed, 'subscribed');
        await expect(feed.publish({ text: 'no' })).rejects.toMatchObject({ code: 103 });
      } finally {
        centrifuge.disconnect();
      }
    } finally {
      await server.close();
    }
  });

  it('takes the file from `latchkey serve --gateway-config` and names each unsupported key at start', async () => {
    const file = path.join(dir, 'cli.json');
    await writeFile(file, JSON.stringify(CENTRIFUGO_CONFIG));
    const proc = spawnNode(LATCHKEY_BIN, ['serve', '--gateway-config', file], { PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'warn' });
    try {
      await proc.waitFor(/gateway API key: file-api-key-0123456789abcdef/, 60_000);
      await proc.waitFor(/unsupported key engine is ignored/, 5000);
      expect(proc.output()).toContain('gateway config: unsupported key admin is ignored');
      expect(proc.output()).toContain('gateway config: unsupported key client.history_max_publication_limit is ignored');
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  }, 90_000);
});
