/**
 * The shared client scenarios (clients/scenarios/scenarios.json), run by the TypeScript SDK against a live
 * `latchkey serve`. The Python and Go clients run the same file in their own suites.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LatchkeyApi, MemoryTokenStore, ReauthRequiredError, TokenEndpointUnavailableError, TokenManager, TokenSet, type TokenStore } from '@latchkey/client';
import { createNodeRealtimeClient, FileTokenStore } from '@latchkey/client/node';
import { spawnNode } from '../../../test-support/processes.js';

const SCENARIOS_DIR = fileURLToPath(new URL('../../../clients/scenarios/', import.meta.url));
const REFRESH_CHILD = fileURLToPath(new URL('./fixtures/scenario-refresh.ts', import.meta.url));
const WRITE_LOOP = fileURLToPath(new URL('./fixtures/write-loop.ts', import.meta.url));
const TOKEN_COUNT = /^latchkey_http_request_duration_seconds_count\{method="POST",route="\/auth\/v1\/(?:oauth\/)?token",status="\d+"\} (\d+)$/gm;

interface Scenario {
  readonly id: string;
  readonly server: string;
  readonly [field: string]: unknown;
  readonly expect: Record<string, unknown>;
}
interface ScenarioFile {
  readonly password: string;
  readonly servers: Record<string, { jwt_expiry: number }>;
  readonly scenarios: readonly Scenario[];
}
const file = JSON.parse(await fs.readFile(path.join(SCENARIOS_DIR, 'scenarios.json'), 'utf8')) as ScenarioFile;

/** A `latchkey serve` started by the shared launcher. */
interface Server {
  readonly url: string;
  readonly wsUrl: string;
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  readonly gatewayApiKey: string;
  readonly child: ChildProcess;
}

const running = new Map<string, Promise<Server>>();
const scratch: string[] = [];
afterAll(async () => {
  for (const server of running.values()) {
    const { child } = await server;
    child.stdin?.end();
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
  }
  await Promise.all(scratch.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

function server(profile: string): Promise<Server> {
  let started = running.get(profile);
  if (!started) {
    const expiry = file.servers[profile]!.jwt_expiry;
    const child = spawn(process.execPath, [path.join(SCENARIOS_DIR, 'launch-server.mjs'), '--jwt-expiry', String(expiry)], { stdio: ['pipe', 'pipe', 'inherit'] });
    started = new Promise<Server>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => {
        const info = JSON.parse(line) as Record<string, string>;
        resolve({ url: info.url!, wsUrl: info.ws_url!, anonKey: info.anon_key!, serviceRoleKey: info.service_role_key!, gatewayApiKey: info.gateway_api_key!, child });
      });
      child.once('exit', (code) => reject(new Error(`the server launcher exited (${code})`)));
    });
    running.set(profile, started);
  }
  return started;
}

async function tokenRequests(target: Server): Promise<number> {
  const text = await (await fetch(`${target.url}/metrics`)).text();
  return [...text.matchAll(TOKEN_COUNT)].reduce((sum, match) => sum + Number(match[1]), 0);
}

let users = 0;
async function createUser(target: Server): Promise<{ email: string; password: string; id: string }> {
  users += 1;
  const email = `ts-${Date.now().toString(36)}-${process.pid}-${users}@example.com`;
  const response = await fetch(`${target.url}/auth/v1/admin/users`, {
    method: 'POST',
    headers: { apikey: target.anonKey, authorization: `Bearer ${target.serviceRoleKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: file.password, email_confirm: true }),
  });
  expect(response.status).toBe(200);
  return { email, password: file.password, id: ((await response.json()) as { id: string }).id };
}

async function signedIn(target: Server, options: { store?: TokenStore; expirySkew?: number } = {}) {
  const user = await createUser(target);
  const api = new LatchkeyApi(target.url, { anonKey: target.anonKey, ...options });
  await api.auth.login({ email: user.email, password: user.password });
  return { api, user };
}

/** Moves the stored access token inside the expiry skew, so the next caller must refresh. */
async function nearExpiry(api: LatchkeyApi): Promise<TokenSet> {
  const tokens = (await api.tokens.peek())!;
  const moved = new TokenSet({ ...tokens, accessExpiresAt: Date.now() + 5000 });
  await api.tokens.setTokens(moved);
  return moved;
}

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-scenario-'));
  scratch.push(dir);
  return dir;
}

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Records a realtime client's events: "connecting <code>", "connected", "disconnected <code>", "reauth …". */
function watch(client: ReturnType<typeof createNodeRealtimeClient>): string[] {
  const log: string[] = [];
  client.on('connected', () => log.push('connected'));
  client.on('disconnected', (code) => log.push(`disconnected ${code}`));
  client.on('reauthRequired', (error) => log.push(`reauth ${error.message}`));
  client.centrifuge.on('connecting', (context) => log.push(`connecting ${context.code}`));
  return log;
}

function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error('timed out'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

const implementations: Record<string, (scenario: Scenario, target: Server) => Promise<void>> = {
  async login(scenario, target) {
    const user = await createUser(target);
    const api = new LatchkeyApi(target.url, { anonKey: target.anonKey });
    let before = await tokenRequests(target);
    const session = await api.auth.login({ email: user.email, password: user.password });
    expect((await tokenRequests(target)) - before).toBe(scenario.expect.login_token_requests);
    expect(session.user?.email).toBe(user.email);
    expect(await api.tokens.store.load()).toEqual(session.tokens);
    expect((await api.auth.user()).id).toBe(user.id);

    before = await tokenRequests(target);
    const rotated = await api.auth.refreshToken();
    expect((await tokenRequests(target)) - before).toBe(scenario.expect.refresh_token_requests);
    expect(rotated.accessToken).not.toBe(session.tokens.accessToken);
    expect(rotated.refreshToken).not.toBe(session.tokens.refreshToken);

    await api.auth.logout();
    expect(scenario.expect.store_after_logout).toBe('empty');
    expect(await api.tokens.store.load()).toBeNull();
    const spent = await fetch(`${target.url}/auth/v1/token?grant_type=refresh_token`, {
      method: 'POST',
      headers: { apikey: target.anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: rotated.refreshToken }),
    });
    expect(spent.status).toBe(400);
  },

  async concurrent_refresh(scenario, target) {
    const { api } = await signedIn(target);
    const old = await nearExpiry(api);
    const before = await tokenRequests(target);
    const headers = await Promise.all(Array.from({ length: scenario.callers as number }, () => api.tokens.authorizationHeader()));
    expect((await tokenRequests(target)) - before).toBe(scenario.expect.token_requests);
    expect(new Set(headers).size).toBe(scenario.expect.distinct_tokens);
    expect(headers[0]).not.toBe(old.authorizationHeader);
  },

  async unauthorized_forces_one_refresh(scenario, target) {
    const { api } = await signedIn(target);
    const tokens = (await api.tokens.peek())!;
    await api.tokens.setTokens(new TokenSet({ ...tokens, accessToken: 'rejected.by.server', accessExpiresAt: Date.now() + 3_600_000 }));
    const before = await tokenRequests(target);
    const responses = await Promise.all(Array.from({ length: scenario.callers as number }, () => api.fetch(scenario.resource as string)));
    expect((await tokenRequests(target)) - before).toBe(scenario.expect.token_requests);
    expect(responses.map((response) => response.status)).toEqual(responses.map(() => scenario.expect.status));
    expect((await api.tokens.peek())!.accessToken).not.toBe('rejected.by.server');
  },

  async permanent_failure_clears_store(scenario, target) {
    const store = new FileTokenStore(path.join(await tempDir(), 'session.json'));
    const { api } = await signedIn(target, { store });
    const tokens = (await api.tokens.peek())!;
    const ended = await fetch(`${target.url}/auth/v1/logout?scope=global`, {
      method: 'POST',
      headers: { apikey: target.anonKey, authorization: tokens.authorizationHeader },
    });
    expect(ended.status).toBe(204);
    await nearExpiry(api);
    const before = await tokenRequests(target);
    const error = await api.tokens.authorizationHeader().catch((caught: unknown) => caught);
    expect(scenario.expect.error).toBe('reauth_required');
    expect(error).toBeInstanceOf(ReauthRequiredError);
    expect((await tokenRequests(target)) - before).toBe(scenario.expect.token_requests);
    expect(scenario.expect.store_after).toBe('empty');
    expect(await store.load()).toBeNull();
    await expect(fs.stat(store.path)).rejects.toThrow(/ENOENT/);
  },

  async transient_failure_keeps_session(scenario, target) {
    const { api } = await signedIn(target);
    const session = await nearExpiry(api);
    const tokenUrl = `http://127.0.0.1:${await closedPort()}/auth/v1/token`;
    const retry = { attempts: scenario.attempts as number, baseDelayMs: 10 };
    const store = new MemoryTokenStore(session);
    const manager = new TokenManager(null, { tokenUrl, protocol: 'gotrue', store, retry });
    expect(await manager.authorizationHeader()).toBe(session.authorizationHeader);
    expect(manager.tokenRequests).toBe(scenario.attempts);
    await store.save(new TokenSet({ ...session, accessExpiresAt: Date.now() - 1000 }));
    const expired = new TokenManager(null, { tokenUrl, protocol: 'gotrue', store, retry });
    const error = await expired.authorizationHeader().catch((caught: unknown) => caught);
    expect(scenario.expect.error).toBe('token_endpoint_unavailable');
    expect(error).toBeInstanceOf(TokenEndpointUnavailableError);
    expect(expired.tokenRequests).toBe(scenario.attempts);
    expect(scenario.expect.store_after).toBe('kept');
    expect(await store.load()).not.toBeNull();
  },

  async file_store(scenario, target) {
    const dir = await tempDir();
    const sessionFile = path.join(dir, 'private', 'session.json');
    const store = new FileTokenStore(sessionFile);
    const { api } = await signedIn(target, { store });
    expect(((await fs.stat(sessionFile)).mode & 0o777).toString(8).padStart(4, '0')).toBe(scenario.expect.file_mode);
    expect(((await fs.stat(path.dirname(sessionFile))).mode & 0o777).toString(8).padStart(4, '0')).toBe(scenario.expect.dir_mode);

    // Atomic writes: another process rewrites the file while this one reads it.
    const atomicFile = path.join(dir, 'atomic', 'session.json');
    await new FileTokenStore(atomicFile).save((await api.tokens.peek())!);
    const writer = spawnNode(WRITE_LOOP, [atomicFile]);
    let torn = 0;
    try {
      await writer.waitFor(/ready/, 30_000);
      for (let read = 0; read < (scenario.reads as number); read++) {
        try {
          const parsed = JSON.parse(await fs.readFile(atomicFile, 'utf8')) as { access_token?: unknown };
          if (typeof parsed.access_token !== 'string') torn += 1;
        } catch {
          torn += 1;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      writer.child.kill('SIGKILL');
      await writer.exited;
    }
    expect(torn).toBe(scenario.expect.torn_reads);

    // Cross-process lock: processes sharing the file refresh an expired token once between them.
    await nearExpiry(api);
    const go = path.join(dir, 'go');
    const children = Array.from({ length: scenario.processes as number }, () =>
      spawnNode(REFRESH_CHILD, [sessionFile, `${target.url}/auth/v1/token`, target.anonKey, go]),
    );
    await new Promise((resolve) => setTimeout(resolve, 3000)); // every process started (tsx is slow to load)
    const before = await tokenRequests(target);
    await fs.writeFile(go, 'go');
    const codes = await Promise.all(children.map((child) => child.exited));
    expect(codes).toEqual(children.map(() => 0));
    const headers = children.map((child) => child.output().trim().split('\n').at(-1)!);
    expect((await tokenRequests(target)) - before).toBe(scenario.expect.token_requests);
    expect(new Set(headers).size).toBe(scenario.expect.distinct_tokens);
    expect(headers[0]).toBe((await store.load())!.authorizationHeader);
  },

  async realtime_inband_refresh(scenario, target) {
    const { api, user } = await signedIn(target, { expirySkew: 1 });
    const rotations = scenario.rotations as number;
    let refreshed = 0;
    api.tokens.on('refreshed', () => (refreshed += 1));
    const client = createNodeRealtimeClient(target.wsUrl, api.tokens);
    const log = watch(client);
    const received: unknown[] = [];
    const channel = `user:#${user.id}`;
    const subscription = client.subscribe(channel, (data) => received.push(data));
    client.connect();
    try {
      await client.ready(10_000);
      await waitFor(() => subscription.state === 'subscribed', 10_000);
      for (let n = 1; n <= rotations; n++) {
        await waitFor(() => refreshed >= n, 15_000);
        await new Promise((resolve) => setTimeout(resolve, 300)); // let the refresh command land
        const published = await fetch(`${target.url}/api/publish`, {
          method: 'POST',
          headers: { 'x-api-key': target.gatewayApiKey, 'content-type': 'application/json' },
          body: JSON.stringify({ channel, data: { n } }),
        });
        expect(published.status).toBe(200);
        await waitFor(() => received.length === n, 10_000);
      }
      await waitFor(() => refreshed > rotations, 15_000);
      const rpc = scenario.rpc as { method: string; data: unknown };
      expect(await client.rpc(rpc.method, rpc.data)).toEqual({ method: rpc.method, user: user.id, data: rpc.data });
      expect(received).toEqual(Array.from({ length: rotations }, (_, index) => ({ n: index + 1 })));
      expect(log.filter((entry) => entry === 'connected')).toHaveLength(scenario.expect.connects as number);
      expect(log.filter((entry) => entry.startsWith('disconnected'))).toHaveLength(scenario.expect.disconnects as number);
      expect(log).toEqual(['connecting 0', 'connected']);
    } finally {
      client.disconnect();
    }
  },

  async realtime_invalid_token(scenario, target) {
    const { api } = await signedIn(target);
    const tokens = (await api.tokens.peek())!;
    await api.tokens.setTokens(new TokenSet({ ...tokens, accessToken: 'refused.by.gateway', accessExpiresAt: Date.now() + 3_600_000 }));
    const client = createNodeRealtimeClient(target.wsUrl, api.tokens, { centrifuge: { minReconnectDelay: 50, maxReconnectDelay: 200 } });
    const log = watch(client);
    const before = await tokenRequests(target);
    client.connect();
    try {
      await waitFor(() => log.includes('connected'), 15_000);
    } finally {
      client.disconnect();
    }
    expect((await tokenRequests(target)) - before).toBe(scenario.expect.token_requests);
    expect(log.filter((entry) => entry.endsWith(` ${String(scenario.expect.close_code)}`))).toHaveLength(scenario.expect.closes as number);
    expect(log.filter((entry) => entry === 'connected')).toHaveLength(scenario.expect.connects as number);
    expect(log.some((entry) => entry.startsWith('reauth'))).toBe(scenario.expect.reauth_reported);
    expect((await api.tokens.peek())!.accessToken).not.toBe('refused.by.gateway');
  },

  async realtime_session_ended(scenario, target) {
    const { api } = await signedIn(target);
    const client = createNodeRealtimeClient(target.wsUrl, api.tokens, { centrifuge: { minReconnectDelay: 50, maxReconnectDelay: 200 } });
    const log = watch(client);
    client.connect();
    try {
      await client.ready(10_000);
      const tokens = (await api.tokens.peek())!;
      const ended = await fetch(`${target.url}/auth/v1/logout?scope=global`, {
        method: 'POST',
        headers: { apikey: target.anonKey, authorization: tokens.authorizationHeader },
      });
      expect(ended.status).toBe(204);
      await waitFor(() => log.some((entry) => entry.startsWith('reauth')), 10_000);
      await new Promise((resolve) => setTimeout(resolve, scenario.wait_ms as number)); // time enough for a reconnect, were one coming
      expect(client.centrifuge.state).toBe(scenario.expect.state_after);
    } finally {
      client.disconnect();
    }
    expect(log.filter((entry) => entry === `disconnected ${String(scenario.expect.close_code)}`)).toHaveLength(1);
    expect(log.some((entry) => entry.startsWith('reauth'))).toBe(scenario.expect.reauth_reported);
    expect(log.filter((entry) => entry === 'connected')).toHaveLength(scenario.expect.connects as number);
  },

  async realtime_expired_at_connect(scenario, target) {
    const { api } = await signedIn(target);
    const stale = (await api.tokens.peek())!;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stale.accessExpiresAt! - Date.now()) + 1000)); // expired for the gateway
    await api.tokens.setTokens(new TokenSet({ ...stale, accessExpiresAt: Date.now() + 3_600_000 })); // a client clock running behind
    const client = createNodeRealtimeClient(target.wsUrl, api.tokens, { centrifuge: { minReconnectDelay: 50, maxReconnectDelay: 200 } });
    const log = watch(client);
    const errors: number[] = [];
    client.centrifuge.on('error', (context) => errors.push(context.error.code));
    const before = await tokenRequests(target);
    client.connect();
    try {
      await client.ready(15_000);
    } finally {
      client.disconnect();
    }
    expect((await tokenRequests(target)) - before).toBe(scenario.expect.token_requests);
    expect(errors).toEqual([scenario.expect.error_code]);
    expect(log.filter((entry) => entry === 'connected')).toHaveLength(scenario.expect.connects as number);
    expect(log.some((entry) => entry.startsWith('reauth'))).toBe(scenario.expect.reauth_reported);
    expect((await api.tokens.peek())!.accessToken).not.toBe(stale.accessToken);
  },
};

describe('shared client scenarios (TypeScript SDK)', { timeout: 90_000 }, () => {
  for (const scenario of file.scenarios) {
    it(scenario.id, async () => {
      const implementation = implementations[scenario.id];
      expect(implementation, `no TypeScript implementation of scenario ${scenario.id}`).toBeDefined();
      await implementation!(scenario, await server(scenario.server));
    });
  }
});
