/**
 * Fault harness: three `latchkey serve` nodes (the compiled CLI) on one PostgreSQL and one Redis behind
 * HAProxy, under a mixed load (sign-ups, sign-ins with supabase-js, refreshes, identity and example-API
 * calls, note writes, realtime users on the official `centrifuge` client), through these faults: a node
 * killed with SIGKILL and restarted; a rolling SIGTERM restart; PostgreSQL restarted; Redis stopped; the
 * JWKS source of a remotely verifying node unreachable; `latchkey keys rotate`. For each: failed
 * requests by status, the longest time a client had no working session or socket, sessions lost,
 * publications lost, and at the end every acknowledged write looked up in the database and every node
 * that exited by itself named. Then refresh
 * grants/s and example-API requests/s through the balancer, three nodes against one, same run.
 *
 *   npm run bench:chaos                 full run (about 6 minutes)
 *   npm run bench:chaos -- --short      the CI form (about 2 minutes)
 *   npm run bench:chaos -- --only redis only the faults whose name contains a word (and the baseline)
 *
 * PostgreSQL and Redis are private to the run (initdb / redis-server on free ports in a temporary
 * directory), so restarting them disturbs nothing else. Needs `haproxy`, PostgreSQL's server binaries
 * and `redis-server`, and a build (`npm run build`). Exit code 1 when a goal of 0 (sessions lost,
 * acknowledged writes missing, nodes that exited by themselves) is missed.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Centrifuge } from 'centrifuge';
import pg from 'pg';
import WebSocket from 'ws';
import { apiReadAt, connectRealtime, Observations, refreshAt, startLoad, throughput, VirtualUser, type Target } from './load.js';
import { figures, table, type Phase, type PhaseFigures } from './report.js';
import { createNode, freePort, sleep, startHaproxy, startPostgres, startRedis, startRelay, until, type LatchkeyNode } from './services.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../packages/cli/bin/latchkey.js', import.meta.url));
const SHORT = process.argv.includes('--short');
const ONLY = (() => {
  const at = process.argv.indexOf('--only');
  return at === -1 ? null : (process.argv[at + 1] ?? '').toLowerCase();
})();

const P = SHORT
  ? { users: 6, realtime: 4, stepMs: 500, signUpMs: 1500, publishMs: 500, baseline: 4, down: 2, settle: 4, redis: 5, jwks: 10, rounds: 1, seconds: 2, workers: 6 }
  : { users: 16, realtime: 10, stepMs: 400, signUpMs: 1000, publishMs: 250, baseline: 15, down: 5, settle: 8, redis: 10, jwks: 60, rounds: 3, seconds: 4, workers: 8 };

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-chaos-'));
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    await harness(dir, cleanups);
  } catch (error) {
    for (const node of started) {
      const output = node.process()?.output() ?? node.lastOutput();
      process.stderr.write(`--- ${node.name} (last lines)\n${output.split('\n').slice(-15).join('\n')}\n`);
    }
    throw error;
  } finally {
    await cleanup();
  }
}

/** Nodes of the run, so a failure can show what they wrote. */
const started: LatchkeyNode[] = [];

async function harness(dir: string, cleanups: (() => Promise<void>)[]): Promise<void> {
  log(`mode ${SHORT ? 'short' : 'full'}; working in ${dir}`);
  const postgres = await startPostgres(dir);
  cleanups.push(() => postgres.stop());
  const redis = await startRedis(dir);
  cleanups.push(() => redis.stop());
  const ports = { all: await freePort(), one: await freePort() };
  const base = `http://127.0.0.1:${ports.all}`;
  const jwksRelay = await startRelay(ports.all);
  cleanups.push(() => jwksRelay.cut());
  const gatewayApiKey = randomBytes(24).toString('base64url');
  const env: Record<string, string> = {
    DATABASE_URL: postgres.url,
    REDIS_URL: redis.url,
    LATCHKEY_REDIS_PREFIX: 'chaos',
    LATCHKEY_PUBLIC_URL: base,
    LATCHKEY_GATEWAY_API_KEY: gatewayApiKey,
    LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0',
    LATCHKEY_RATE_LIMIT_SIGNUP: '0',
    LATCHKEY_DATABASE_CONNECT_TIMEOUT: '3',
    LATCHKEY_SHUTDOWN_TIMEOUT: '10',
  };
  // Node 3 verifies gateway tokens remotely, through a JWKS URL the harness can cut.
  const remote = {
    LATCHKEY_GATEWAY_TOKEN_JWKS_URL: `http://127.0.0.1:${jwksRelay.port}/auth/v1/.well-known/jwks.json`,
    LATCHKEY_GATEWAY_TOKEN_ISSUER: `${base}/auth/v1`,
    LATCHKEY_GATEWAY_TOKEN_AUDIENCE: 'authenticated',
  };
  const nodes: LatchkeyNode[] = [await createNode('n1', dir, env), await createNode('n2', dir, env), await createNode('n3', dir, { ...env, ...remote })];
  started.push(...nodes);
  for (const node of nodes) {
    const ms = await node.start();
    log(`${node.name} healthy on ${node.port} after ${Math.round(ms)} ms`);
    cleanups.push(() => node.stop('SIGKILL'));
  }
  const balancer = await startHaproxy(dir, ports, nodes);
  cleanups.push(() => balancer.stop());
  const keys = await run(process.execPath, [CLI, 'keys', '--json', '--data-dir', nodes[0]!.dataDir], { env: { ...process.env, ...env } });
  const anonKey = (JSON.parse(keys.stdout) as { anon_key: string }).anon_key;
  const target: Target = { base, anonKey, gatewayApiKey };
  const wsUrl = `${base.replace(/^http/, 'ws')}/connection/websocket`;

  const observations = new Observations();
  const users: VirtualUser[] = [];
  for (let index = 0; index < P.users; index += 1) {
    const user = new VirtualUser(target, observations);
    await user.setUp();
    users.push(user);
  }
  const realtimeUsers = users.slice(0, P.realtime);
  const sockets = realtimeUsers.map((user) => connectRealtime(user, wsUrl, observations));
  cleanups.push(async () => {
    for (const socket of sockets) socket.disconnect();
  });
  await until(async () => sockets.every((socket) => socket.state === 'connected'), 20_000, 'realtime users connected');
  log(`${users.length} users (${sockets.length} realtime) set up`);

  const load = startLoad({ target, users, realtime: realtimeUsers, stepMs: P.stepMs, signUpMs: P.signUpMs, publishMs: P.publishMs, record: observations });
  const phases: Phase[] = [];
  const phase = async (name: string, body: (notes: string[]) => Promise<void>) => {
    if (ONLY !== null && phases.length > 0 && !name.toLowerCase().includes(ONLY)) return;
    log(`fault: ${name}`);
    const current: Phase = { name, start: performance.now(), end: 0, notes: [] };
    phases.push(current);
    await body(current.notes);
    await sleep(P.settle * 1000);
    current.end = performance.now();
  };
  const servedAgain = async (notes: string[], from: number, what: string) => {
    const ms = await until(async () => (await fetch(`${base}/auth/v1/user`, { headers: { apikey: anonKey, authorization: `Bearer ${users[0]!.access}` } })).status === 200, 30_000, what);
    notes.push(`${what} ${((performance.now() - from) / 1000).toFixed(1)} s`);
    return ms;
  };

  await phase('none (baseline)', async () => {
    await sleep(P.baseline * 1000);
  });

  await phase('node killed (SIGKILL), restarted', async (notes) => {
    const victim = nodes[0]!;
    await victim.stop('SIGKILL');
    await sleep(P.down * 1000);
    const ms = await victim.start();
    notes.push(`down ${P.down} s, healthy ${(ms / 1000).toFixed(1)} s after restart`);
  });

  await phase('rolling restart (SIGTERM)', async (notes) => {
    for (const node of nodes) {
      const stopping = performance.now();
      await node.stop('SIGTERM');
      const stopped = performance.now() - stopping;
      const ms = await node.start();
      notes.push(`${node.name} stopped ${(stopped / 1000).toFixed(1)} s, up ${(ms / 1000).toFixed(1)} s`);
      await sleep(2000);
    }
  });

  await phase('PostgreSQL restarted', async (notes) => {
    const started = performance.now();
    await postgres.restart();
    const back = performance.now();
    notes.push(`restart took ${((back - started) / 1000).toFixed(1)} s`);
    await servedAgain(notes, back, 'served after the database was back:');
  });

  await phase(`Redis stopped ${P.redis} s`, async (notes) => {
    await redis.stop();
    await sleep(P.redis * 1000);
    await redis.start();
    const back = performance.now();
    const seen = realtimeUsers.map(() => false);
    const ms = await until(async () => {
      const latest = observations.published.filter((item) => item.at > back);
      realtimeUsers.forEach((user, index) => {
        if (latest.some((item) => item.channel === `org:${user.organization}` && observations.received.get(item.channel)?.has(String(item.seq)))) seen[index] = true;
      });
      return seen.every(Boolean);
    }, 30_000, 'publications after Redis returned').catch(() => NaN);
    notes.push(`publications resumed ${(ms / 1000).toFixed(1)} s after Redis returned (every subscriber)`);
  });

  await phase(`JWKS source unreachable ${P.jwks} s (node 3 verifies remotely)`, async (notes) => {
    await jwksRelay.cut();
    const until = performance.now() + P.jwks * 1000;
    let probes = 0;
    let refused = 0;
    const codes = new Map<string, number>();
    while (performance.now() < until) {
      const user = users[probes % users.length]!;
      probes += 1;
      const outcome = await probeConnect(`ws://127.0.0.1:${nodes[2]!.port}/connection/websocket`, user.access);
      if (outcome !== 'connected') {
        refused += 1;
        codes.set(outcome, (codes.get(outcome) ?? 0) + 1);
      }
      await sleep(1000);
    }
    await jwksRelay.restore();
    notes.push(`connects straight to node 3 while the JWKS was away: ${probes - refused}/${probes} accepted${refused ? ` (refused: ${[...codes].map(([code, count]) => `${count}×${code}`).join(', ')})` : ''}`);
  });

  await phase('latchkey keys rotate under load', async (notes) => {
    const before = await kidsOf(nodes[1]!.url);
    const started = performance.now();
    const rotated = await run(process.execPath, [CLI, 'keys', 'rotate', '--json', '--data-dir', nodes[1]!.dataDir], { env: { ...process.env, ...env } });
    const kid = (JSON.parse(rotated.stdout) as { kid: string }).kid;
    const ms = await until(async () => (await Promise.all(nodes.slice(0, 2).map(async (node) => (await kidsOf(node.url)).includes(kid) && (await signsWith(node.url, anonKey, users[0]!)) === kid))).every(Boolean), 30_000, 'new key on every node');
    notes.push(`new key signing on every node ${(ms / 1000).toFixed(2)} s after the command (was ${before.length} key(s))`);
    const remoteOk = await until(async () => (await probeConnect(`ws://127.0.0.1:${nodes[2]!.port}/connection/websocket`, users[0]!.access)) === 'connected', 30_000, 'node 3 accepts the new key').catch(() => NaN);
    notes.push(`node 3 (remote JWKS) accepts new-key tokens ${(remoteOk / 1000).toFixed(1)} s later`);
    void started;
  });

  await load.stop();
  await sleep(3000);
  const rows: PhaseFigures[] = phases.map((item) => figures(observations, item, P.stepMs));

  // Every session still works, every acknowledged write is stored.
  let finalLost = 0;
  for (const user of users) {
    const lostBefore = observations.sessionsLost.length;
    await user.refresh();
    if (observations.sessionsLost.length > lostBefore) finalLost += 1;
  }
  const missing = await missingWrites(postgres.url, observations);
  for (const socket of sockets) socket.disconnect();

  log('throughput');
  const workers: VirtualUser[] = [];
  for (let index = 0; index < P.workers; index += 1) {
    const user = new VirtualUser(target, new Observations());
    await user.setUp();
    workers.push(user);
  }
  const direct = nodes[0]!.url;
  const results = { refresh: { all: [] as number[], one: [] as number[], direct: [] as number[] }, api: { all: [] as number[], one: [] as number[], direct: [] as number[] } };
  for (let round = 0; round < P.rounds; round += 1) {
    for (const [name, url] of [['all', balancer.all], ['one', balancer.one], ['direct', direct]] as const) {
      results.refresh[name].push(await throughput(workers, P.seconds, (user) => refreshAt(url, user)));
      results.api[name].push(await throughput(workers, P.seconds, (user) => apiReadAt(url, user)));
    }
  }

  const totalLost = rows.reduce((sum, row) => sum + row.sessionsLost, 0) + finalLost;
  const crashed = nodes.filter((node) => node.crashes.length > 0);
  const missingTotal = missing.users + missing.notes + missing.refreshTokens;
  const out: string[] = [];
  out.push(`## Fault harness (${SHORT ? 'short' : 'full'} run): 3 nodes behind HAProxy, ${P.users} users (${P.realtime} realtime), ${os.cpus().length} cores`);
  out.push('');
  out.push(table(rows));
  out.push('');
  out.push(`sessions lost in total: ${totalLost} (final refresh of every session: ${finalLost} failed)`);
  out.push(
    `acknowledged writes missing: ${missingTotal} (sign-ups ${missing.users}/${observations.users.length}, notes ${missing.notes}/${observations.notes.length}, refresh rotations ${missing.refreshTokens}/${observations.refreshTokens.length})`,
  );
  out.push(`nodes that exited by themselves: ${crashed.length === 0 ? 'none' : crashed.map((node) => `${node.name} (exit ${node.crashes.join(', ')})`).join(', ')}`);
  out.push('');
  const m = (list: number[]) => median(list).toFixed(0);
  out.push(`throughput, ${P.workers} closed-loop clients, median of ${P.rounds} × ${P.seconds} s:`);
  out.push(`| | 3 nodes via HAProxy | 1 node via HAProxy | 1 node direct | 3 nodes / 1 node |`);
  out.push(`|---|---|---|---|---|`);
  out.push(`| refresh grants/s | ${m(results.refresh.all)} | ${m(results.refresh.one)} | ${m(results.refresh.direct)} | ${(median(results.refresh.all) / median(results.refresh.one)).toFixed(2)} |`);
  out.push(`| example API requests/s | ${m(results.api.all)} | ${m(results.api.one)} | ${m(results.api.direct)} | ${(median(results.api.all) / median(results.api.one)).toFixed(2)} |`);
  const cut = await balancer.unanswered();
  if (cut.length > 0) out.push('', `requests the balancer ended without an answer (HAProxy log):`, ...cut.map((line) => `    ${line}`));
  process.stdout.write(`${out.join('\n')}\n`);
  if (totalLost > 0 || missingTotal > 0 || crashed.length > 0) process.exitCode = 1;
}

/** Connects a fresh official client straight to a node; `connected`, or the error/disconnect code. */
async function probeConnect(url: string, token: string): Promise<string> {
  const client = new Centrifuge(url, { websocket: WebSocket as never, token, minReconnectDelay: 60_000 });
  try {
    return await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), 5000);
      client.once('connected', () => {
        clearTimeout(timer);
        resolve('connected');
      });
      client.once('error', (context: { error: { code: number } }) => {
        clearTimeout(timer);
        resolve(`error ${context.error.code}`);
      });
      client.once('disconnected', (context: { code: number }) => {
        clearTimeout(timer);
        resolve(`close ${context.code}`);
      });
      client.connect();
    });
  } finally {
    client.disconnect();
  }
}

async function kidsOf(url: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/auth/v1/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
  return body.keys.map((key) => key.kid);
}

/** The `kid` a node signs a fresh access token with (a refresh of `user`'s session on that node). */
async function signsWith(url: string, anonKey: string, user: VirtualUser): Promise<string | null> {
  if (!(await refreshAt(url, user))) return null;
  void anonKey;
  return (JSON.parse(Buffer.from(user.access.split('.')[0]!, 'base64url').toString('utf8')) as { kid?: string }).kid ?? null;
}

/** Looks every acknowledged sign-up, note and refresh rotation up in the database. */
async function missingWrites(url: string, observations: Observations): Promise<{ users: number; notes: number; refreshTokens: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const count = async (sql: string, values: unknown[]) => Number((await client.query<{ n: string }>(sql, [values])).rows[0]!.n);
    const users = observations.users.length - (await count('select count(*) as n from auth.users where id = any($1::uuid[])', observations.users));
    const notes = observations.notes.length - (await count('select count(*) as n from public.notes where id = any($1::uuid[])', observations.notes));
    const digests = observations.refreshTokens.map((item) => createHash('sha256').update(item.token).digest());
    const refreshTokens = digests.length - (await count('select count(*) as n from auth.refresh_tokens where token_hash = any($1::bytea[])', digests));
    return { users, notes, refreshTokens };
  } finally {
    await client.end();
  }
}

await main();
