import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader } from 'jose';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../../../test-support/databases.js';
import { describeWith } from '../../../test-support/integration.js';
import { LATCHKEY_BIN, spawnNode, type Spawned } from '../../../test-support/processes.js';

interface Run {
  readonly code: number | string;
  readonly stdout: string;
  readonly output: string;
}

async function run(args: string[], env: Record<string, string>): Promise<Run> {
  const proc = spawnNode(LATCHKEY_BIN, args, env);
  let stdout = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const code = await proc.exited;
  return { code, stdout, output: proc.output() };
}

async function json<T>(args: string[], env: Record<string, string>): Promise<T> {
  const result = await run(args, env);
  expect(result.code, result.output).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const scratch: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-admin-'));
  scratch.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(scratch.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

interface Server {
  readonly proc: Spawned;
  readonly url: string;
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

async function serve(env: Record<string, string>): Promise<Server> {
  const proc = spawnNode(LATCHKEY_BIN, ['serve', '--example'], { PORT: '0', LATCHKEY_RATE_LIMIT_SIGNUP: '0', ...env });
  const url = (await proc.waitFor(/health\s+(http:\/\/\S+)\/health/, 60_000))[1]!;
  await proc.waitFor(/data\s+\S+/);
  const anonKey = (await proc.waitFor(/anon key\s+(\S+)/))[1]!;
  const serviceRoleKey = (await proc.waitFor(/service_role key\s+(\S+)/))[1]!;
  return {
    proc,
    url,
    anonKey,
    serviceRoleKey,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      proc.child.kill(signal);
      return proc.exited;
    },
  };
}

async function signUp(url: string, anonKey: string): Promise<string> {
  const response = await fetch(`${url}/auth/v1/signup`, {
    method: 'POST',
    headers: { apikey: anonKey, 'content-type': 'application/json' },
    body: JSON.stringify({ email: `admin-${Math.random().toString(36).slice(2)}@example.com`, password: 'correct-horse-1' }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** The service_role key is accepted by the admin API of the running server. */
async function expectAdminAccepted(url: string, serviceRoleKey: string): Promise<void> {
  const response = await fetch(`${url}/auth/v1/admin/users`, { headers: { authorization: `Bearer ${serviceRoleKey}`, apikey: serviceRoleKey } });
  expect(response.status).toBe(200);
}

/** Every admin command against a server that holds the database; the server's answers, not a second writer's. */
async function exerciseAdminCommands(server: Server, env: Record<string, string>): Promise<void> {
  const keys = await json<{ anon_key: string; service_role_key: string }>(['keys', '--json'], env);
  expect(keys).toEqual({ anon_key: server.anonKey, service_role_key: server.serviceRoleKey });
  await expectAdminAccepted(server.url, keys.service_role_key);

  const created = await json<{ client_id: string; client_secret: string }>(['clients', 'create', '--name', 'nightly', '--scope', 'notes:read', '--json'], env);
  expect(created.client_secret).toMatch(/^[\w-]{40,}$/);
  const token = await fetch(`${server.url}/auth/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: created.client_id, client_secret: created.client_secret }),
  });
  expect(token.status).toBe(200);
  const listed = await json<{ clients: Array<{ client_id: string; client_secret?: string }> }>(['clients', 'list', '--json'], env);
  expect(listed.clients.map((client) => client.client_id)).toContain(created.client_id);
  expect(listed.clients.every((client) => client.client_secret === undefined)).toBe(true);
  expect((await run(['clients', 'delete', created.client_id], env)).code).toBe(0);
  const again = await run(['clients', 'delete', created.client_id], env);
  expect(again.code).toBe(1);
  expect(again.output).toContain(`no client ${created.client_id}`);

  expect(await json(['mail', '--json'], env)).toEqual({ messages: [] });
  expect(await json(['migrate', '--json'], env)).toMatchObject({ applied: [] });

  const before = decodeProtectedHeader(await signUp(server.url, server.anonKey)).kid;
  const rotated = await json<{ kid: string; retired_kid: string }>(['keys', 'rotate', '--json'], env);
  expect(rotated.retired_kid).toBe(before);
  // The server made the rotation itself: it signs with the new key at once.
  expect(decodeProtectedHeader(await signUp(server.url, server.anonKey)).kid).toBe(rotated.kid);
  await expectAdminAccepted(server.url, server.serviceRoleKey);
  // `latchkey keys` names the new signing key and the retired one with the end of its publication.
  const keysText = await run(['keys'], env);
  expect(keysText.output).toContain(`signing key       ${rotated.kid}`);
  expect(keysText.output).toMatch(new RegExp(`retired key {7}${before} \\(published until \\d{4}-\\d\\d-\\d\\dT`));

  // Sign-ups are in the audit log, read through the server; pruning keeps what is younger.
  const audit = await json<{ entries: Array<{ payload: { action: string; actor_username: string } }>; total: number }>(['audit', '--action', 'user_signedup', '--json'], env);
  expect(audit.total).toBeGreaterThanOrEqual(2);
  expect(audit.entries.every((entry) => entry.payload.action === 'user_signedup' && entry.payload.actor_username.startsWith('admin-'))).toBe(true);
  const text = await run(['audit', '--limit', '1'], env);
  expect(text.code, text.output).toBe(0);
  expect(text.stdout).toMatch(/^\S+Z {2}\w+/);
  const refused = await run(['audit', '--action', 'no_such_action'], env);
  expect(refused.code).not.toBe(0);
  expect(refused.output).toContain('unknown audit action');
  expect(await json(['audit', 'prune', '--older-than', '30d', '--json'], env)).toMatchObject({ deleted: 0 });
  expect((await run(['audit', 'prune', '--older-than', 'soon'], env)).code).toBe(2);

  const status = await json<Record<string, unknown>>(['status', '--json'], env);
  expect(status).toMatchObject({
    running: true,
    pid: server.proc.child.pid,
    public_url: server.url,
    urls: {
      identity: `${server.url}/auth/v1`,
      jwks: `${server.url}/auth/v1/.well-known/jwks.json`,
      gateway: `${server.url.replace('http', 'ws')}/connection/websocket`,
      api: `${server.url}/api/v1`,
    },
    anon_key: server.anonKey,
    service_role_key: server.serviceRoleKey,
  });
}

describe('admin commands beside a server on the embedded database', { timeout: 300_000 }, () => {
  let server: Server | undefined;
  afterEach(async () => {
    await server?.stop('SIGKILL');
    server = undefined;
  });

  it('talk to the server over its admin socket (0600 in a 0700 directory), removed on shutdown', async () => {
    const dataDir = await tempDir();
    const env = { LATCHKEY_DATA_DIR: dataDir, DATABASE_URL: '' };
    server = await serve(env);
    const socket = path.join(dataDir, 'admin.sock');
    expect((await fs.stat(socket)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(dataDir)).mode & 0o777).toBe(0o700);
    expect(server.proc.output()).toContain(`admin socket ${socket}`);

    await exerciseAdminCommands(server, env);

    expect(await server.stop()).toBe(0);
    server = undefined;
    await expect(fs.stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
    // Without a server the command opens the database itself.
    const status = await run(['status', '--json'], env);
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: false, database: { kind: 'pglite' }, anon_key: expect.any(String) });
    expect((await run(['keys'], env)).code).toBe(0);
  });

  it('treat a socket left by a killed server as absent, and the next server replaces it', async () => {
    const dataDir = await tempDir();
    const env = { LATCHKEY_DATA_DIR: dataDir, DATABASE_URL: '' };
    server = await serve(env);
    const keys = { anon_key: server.anonKey, service_role_key: server.serviceRoleKey };
    await server.stop('SIGKILL');
    server = undefined;
    await fs.stat(path.join(dataDir, 'admin.sock'));

    expect(await json(['keys', '--json'], env)).toEqual(keys);
    server = await serve(env);
    expect(server.proc.output()).not.toMatch(/admin socket not opened/);
    expect(await json(['keys', '--json'], env)).toEqual(keys);
  });

  it('keys on a data directory without a database exits 1 and creates nothing', async () => {
    const dataDir = await tempDir();
    const result = await run(['keys', '--json'], { LATCHKEY_DATA_DIR: dataDir, DATABASE_URL: '' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.output).toMatch(/no database in .* yet: start the server once/);
    expect(await fs.readdir(dataDir)).toEqual([]);
  });
});

describeWith(['DATABASE_URL'], 'admin commands beside a server on PostgreSQL', () => {
  let target: { url: string; drop: () => Promise<void> };
  let empty: { url: string; drop: () => Promise<void> };
  let server: Server;
  let serverDir: string;
  const counts = async (url: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const tables = await client.query<{ n: number }>(`select count(*)::int as n from pg_tables where schemaname in ('auth', 'latchkey')`);
      if (tables.rows[0]!.n === 0) return { tables: 0, signingKeys: 0, settings: 0 };
      const keys = await client.query<{ n: number }>('select count(*)::int as n from auth.signing_keys');
      const settings = await client.query<{ value: unknown }>(`select value from latchkey.settings where key = 'identity.api_keys'`);
      return { tables: tables.rows[0]!.n, signingKeys: keys.rows[0]!.n, settings: settings.rows[0]?.value ?? null };
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    target = await createPostgresDatabase();
    empty = await createPostgresDatabase();
    serverDir = await tempDir();
    server = await serve({ DATABASE_URL: target.url, LATCHKEY_DATA_DIR: serverDir, LATCHKEY_JWT_KEYS_RELOAD_INTERVAL: '0.5' });
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await target?.drop();
    await empty?.drop();
  });

  it('run through the admin socket of a server on the same data directory', { timeout: 240_000 }, async () => {
    await exerciseAdminCommands(server, { DATABASE_URL: target.url, LATCHKEY_DATA_DIR: serverDir });
  });

  it('from elsewhere, read the stored keys without writing; the printed keys are accepted by the running server', { timeout: 240_000 }, async () => {
    const elsewhere = { DATABASE_URL: target.url, LATCHKEY_DATA_DIR: await tempDir() };
    const before = await counts(target.url);
    const keys = await json<{ anon_key: string; service_role_key: string }>(['keys', '--json'], elsewhere);
    expect(keys).toEqual({ anon_key: server.anonKey, service_role_key: server.serviceRoleKey });
    await expectAdminAccepted(server.url, keys.service_role_key);
    await signUp(server.url, server.anonKey);
    const audit = await json<{ total: number }>(['audit', '--action', 'login', '--json'], elsewhere);
    expect(audit.total).toBeGreaterThanOrEqual(1);
    expect(await counts(target.url)).toEqual(before);

    // A rotation made directly reaches the running server: a token naming the new key makes it reload.
    const rotated = await json<{ kid: string }>(['keys', 'rotate', '--json'], elsewhere);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(decodeProtectedHeader(await signUp(server.url, server.anonKey)).kid).toBe(rotated.kid);
  });

  it('never act on the server of another database that shares the data directory', { timeout: 240_000 }, async () => {
    const result = await run(['keys', '--json'], { DATABASE_URL: empty.url, LATCHKEY_DATA_DIR: serverDir });
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain(server.anonKey);
  });

  it('keys on an empty database exits 1 and writes nothing', { timeout: 240_000 }, async () => {
    const result = await run(['keys', '--json'], { DATABASE_URL: empty.url, LATCHKEY_DATA_DIR: await tempDir() });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.output).toContain('no API keys yet: start the server once');
    expect(await counts(empty.url)).toEqual({ tables: 0, signingKeys: 0, settings: 0 });
    const listed = await run(['clients', 'list', '--json'], { DATABASE_URL: empty.url, LATCHKEY_DATA_DIR: await tempDir() });
    expect(JSON.parse(listed.stdout)).toEqual({ clients: [] });
    expect(await counts(empty.url)).toEqual({ tables: 0, signingKeys: 0, settings: 0 });
  });
});
