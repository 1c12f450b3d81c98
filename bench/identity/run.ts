/**
 * Identity benchmark: refresh grants per second (p50/p99) at 50 and 200 concurrent requests against
 * PostgreSQL, side by side with pgbench running the refresh path's own SQL (the database's floor),
 * then password logins per second and the longest event-loop stall during a login storm.
 *
 *   npm run bench:identity                      # DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/postgres
 *   BENCH_RUNS=3 BENCH_SECONDS=10 npm run bench:identity
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcrypt';
import pg from 'pg';
import { migrate, openPostgresDatabase, REFRESH_LOCK_SQL, REFRESH_ROTATE_SQL } from '@latchkey/server';

const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const LEVELS = [50, 200];
/** pgbench opens one connection per client; stay under the server's max_connections. */
const PGBENCH_MAX_CLIENTS = Number(process.env.BENCH_PGBENCH_MAX_CLIENTS ?? 80);
const LOGIN_CONCURRENCY = 16;
const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Seeds `count` users, each with one session and refresh token `<prefix><n>`. */
async function seedSessions(url: string, prefix: string, count: number): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(
      `insert into auth.users (id, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
       select md5($1 || n)::uuid, $1 || n || '@bench.test', now(), '{"provider":"email","providers":["email"]}', '{}'
         from generate_series(0, $2 - 1) n`,
      [prefix, count],
    );
    await client.query(
      `insert into auth.identities (id, provider_id, user_id, identity_data, provider)
       select md5('i' || $1 || n)::uuid, md5($1 || n)::uuid::text, md5($1 || n)::uuid, jsonb_build_object('sub', md5($1 || n)::uuid, 'email', $1 || n || '@bench.test'), 'email'
         from generate_series(0, $2 - 1) n`,
      [prefix, count],
    );
    await client.query(
      `insert into auth.sessions (id, user_id, amr) select md5('s' || $1 || n)::uuid, md5($1 || n)::uuid, '[{"method":"password","timestamp":0}]'
         from generate_series(0, $2 - 1) n`,
      [prefix, count],
    );
    await client.query(
      `insert into auth.refresh_tokens (token_hash, user_id, session_id)
       select sha256(convert_to($1 || n, 'UTF8')), md5($1 || n)::uuid, md5('s' || $1 || n)::uuid from generate_series(0, $2 - 1) n`,
      [prefix, count],
    );
  });
}

/** The refresh path's SQL as a pgbench script: BEGIN; lock-and-read; rotate; COMMIT (same statements, same round trips). */
function pgbenchScript(prefix: string): string {
  const oneLine = (sql: string) => sql.replace(/\s+/g, ' ').trim();
  const sealed = `'\\x${'ab'.repeat(60)}'::bytea`;
  // The next token's digest rides along the lock query (\gset overwrites :h with it), so pgbench makes
  // exactly the server's round trips: BEGIN, lock-and-read, rotate, COMMIT.
  const lock = `SELECT sha256(:h::bytea) AS h, l.* FROM (${oneLine(REFRESH_LOCK_SQL).replace('$1', ':h::bytea')}) l \\gset`;
  const rotate = `${oneLine(REFRESH_ROTATE_SQL).replace('$1', ':token_id').replace('$2', ':h::bytea').replace('$3', sealed).replace('$4', ':id::uuid').replaceAll('$5', ':session_id::uuid')};`;
  return [
    '\\if :k = 0',
    `SELECT sha256(convert_to('${prefix}' || :client_id, 'UTF8')) AS h \\gset`,
    '\\set k 1',
    '\\endif',
    'BEGIN;',
    lock,
    rotate,
    'COMMIT;',
  ].join('\n');
}

async function runPgbench(url: string, clients: number, prefix: string): Promise<{ tps: number; latencyMs: number; clients: number }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-bench-'));
  const file = path.join(dir, 'refresh.sql');
  await fs.writeFile(file, pgbenchScript(prefix));
  const args = ['-n', '-M', 'extended', '-f', file, '-D', 'k=0', '-c', String(clients), '-j', '2', '-T', String(SECONDS), url];
  const output = await new Promise<string>((resolve, reject) => {
    execFile('pgbench', args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`pgbench failed: ${stderr || error.message}`));
      else resolve(stdout + stderr);
    });
  });
  await fs.rm(dir, { recursive: true, force: true });
  const tps = Number(/tps = ([\d.]+)/.exec(output)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(output)?.[1]);
  const failed = /number of failed transactions: (\d+)/.exec(output)?.[1];
  if (!Number.isFinite(tps) || (failed && failed !== '0')) throw new Error(`pgbench did not complete cleanly:\n${output}`);
  return { tps, latencyMs, clients };
}

interface HttpResult {
  readonly status: number;
  readonly body: string;
}

function httpPost(agent: http.Agent, base: URL, pathName: string, body: unknown): Promise<HttpResult> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { agent, host: base.hostname, port: base.port, path: pathName, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

async function httpGet(base: URL, pathName: string): Promise<string> {
  const response = await fetch(new URL(pathName, base));
  return response.text();
}

/** `concurrency` workers, each refreshing its own session's chain, for `seconds` after a warm-up. */
async function refreshLoad(base: URL, prefix: string, concurrency: number, seconds: number): Promise<{ rps: number; p50: number; p99: number; errors: number; cpuUsPerRefresh: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const tokens = Array.from({ length: concurrency }, (_, i) => `${prefix}${i}`);
  const latencies: number[] = [];
  let errors = 0;
  let measuring = false;
  let stop = false;
  const worker = async (index: number) => {
    while (!stop) {
      const started = performance.now();
      const answer = await httpPost(agent, base, '/auth/v1/token?grant_type=refresh_token', { refresh_token: tokens[index] });
      const elapsed = performance.now() - started;
      if (answer.status !== 200) {
        errors += 1;
        if (errors > 100) throw new Error(`refresh failed: ${answer.status} ${answer.body}`);
        continue;
      }
      tokens[index] = (JSON.parse(answer.body) as { refresh_token: string }).refresh_token;
      if (measuring) latencies.push(elapsed);
    }
  };
  const running = Promise.all(tokens.map((_, i) => worker(i)));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const cpuBefore = (JSON.parse(await httpGet(base, '/__bench/cpu')) as { cpu_us: number }).cpu_us;
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  measuring = false;
  const cpuAfter = (JSON.parse(await httpGet(base, '/__bench/cpu')) as { cpu_us: number }).cpu_us;
  const elapsed = (performance.now() - started) / 1000;
  const count = latencies.length;
  stop = true;
  await running;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { rps: count / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, cpuUsPerRefresh: (cpuAfter - cpuBefore) / Math.max(1, count) };
}

/** The empty-transaction route at `concurrency`: requests per second of the HTTP + pool + 4 round trip stack alone. */
async function floorLoad(base: URL, concurrency: number, seconds: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let count = 0;
  let stop = false;
  const started = performance.now();
  const running = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stop) {
        const answer = await httpPost(agent, base, '/__bench/floor', { refresh_token: 'x'.repeat(32) });
        if (answer.status !== 200) throw new Error(`floor route failed: ${answer.status}`);
        count += 1;
      }
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  stop = true;
  const elapsed = (performance.now() - started) / 1000;
  await running;
  agent.destroy();
  return count / elapsed;
}

/** Password logins by `concurrency` workers; the server reports its longest event-loop stall meanwhile. */
async function loginStorm(base: URL, emailAddress: string, password: string, seconds: number): Promise<{ lps: number; p50: number; p99: number; stallMs: number; idleStallMs: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: LOGIN_CONCURRENCY });
  const latencies: number[] = [];
  let stop = false;
  // Baseline: the longest stall of the idle server over the same time, i.e. what the machine's
  // scheduling alone costs (on a shared, busy machine this is far from zero).
  await httpGet(base, '/__bench/event-loop');
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const idle = JSON.parse(await httpGet(base, '/__bench/event-loop')) as { max_ms: number };
  const worker = async () => {
    while (!stop) {
      const started = performance.now();
      const answer = await httpPost(agent, base, '/auth/v1/token?grant_type=password', { email: emailAddress, password });
      if (answer.status !== 200) throw new Error(`login failed: ${answer.status} ${answer.body}`);
      latencies.push(performance.now() - started);
    }
  };
  // Warm-up, as for every other figure: the first logins compile the path and fill the pools.
  const warmUp = Promise.all(Array.from({ length: LOGIN_CONCURRENCY }, worker));
  await new Promise((resolve) => setTimeout(resolve, 2000));
  stop = true;
  await warmUp;
  stop = false;
  latencies.length = 0;
  await httpGet(base, '/__bench/event-loop');
  const started = performance.now();
  const running = Promise.all(Array.from({ length: LOGIN_CONCURRENCY }, worker));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  stop = true;
  await running;
  const elapsed = (performance.now() - started) / 1000;
  const loop = JSON.parse(await httpGet(base, '/__bench/event-loop')) as { max_ms: number };
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { lps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), stallMs: loop.max_ms, idleStallMs: idle.max_ms };
}

async function startBenchServer(url: string): Promise<{ base: URL; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      LATCHKEY_DATABASE_POOL_SIZE: process.env.BENCH_POOL_SIZE ?? '10',
      LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0',
      LATCHKEY_RATE_LIMIT_SIGNUP: '0',
      // The storm logs one account in from one address, many attempts at once: no failed-login delays.
      LATCHKEY_LOGIN_ACCOUNT_FAILURES: '0',
      LATCHKEY_LOGIN_ADDRESS_FAILURES: '0',
      // Under 200 concurrent requests on a busy machine, waiting for one of the pooled connections can
      // take longer than the 5 s default (which then answers 500).
      LATCHKEY_DATABASE_CONNECT_TIMEOUT: '60',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise<URL>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (text.includes('listening')) process.stderr.write(chunk);
      text += chunk.toString();
      const match = /listening (\S+)/.exec(text);
      if (match) resolve(new URL(match[1]!));
    });
    child.on('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return {
    base,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('exit', resolve));
    },
  };
}

async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `latchkey_bench_${randomBytes(4).toString('hex')}`;
  await withClient(ADMIN_URL, (client) => client.query(`create database ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withClient(ADMIN_URL, (client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

interface RunResult {
  readonly levels: { concurrency: number; stackRps: number; pgbench: { tps: number; latencyMs: number; clients: number }; refresh: { rps: number; p50: number; p99: number; errors: number; cpuUsPerRefresh: number } }[];
  readonly login: { lps: number; p50: number; p99: number; stallMs: number; idleStallMs: number };
}

async function oneRun(run: number): Promise<RunResult> {
  const target = await createDatabase();
  try {
    const db = await openPostgresDatabase({ url: target.url });
    await migrate(db);
    await db.close();
    const levels: RunResult['levels'] = [];
    for (const concurrency of LEVELS) {
      await seedSessions(target.url, `pg${run}c${concurrency}-`, concurrency);
      await seedSessions(target.url, `http${run}c${concurrency}-`, concurrency);
    }
    const password = 'bench-password-1';
    await withClient(target.url, async (client) => {
      await client.query(
        `insert into auth.users (id, email, encrypted_password, email_confirmed_at, raw_app_meta_data) values (gen_random_uuid(), 'login@bench.test', $1, now(), '{"provider":"email","providers":["email"]}')`,
        [await bcrypt.hash(password, 10)],
      );
      await client.query('vacuum analyze');
    });
    const pgbench = new Map<number, Awaited<ReturnType<typeof runPgbench>>>();
    for (const concurrency of LEVELS) {
      pgbench.set(concurrency, await runPgbench(target.url, Math.min(concurrency, PGBENCH_MAX_CLIENTS), `pg${run}c${concurrency}-`));
    }
    const server = await startBenchServer(target.url);
    try {
      for (const concurrency of LEVELS) {
        const refresh = await refreshLoad(server.base, `http${run}c${concurrency}-`, concurrency, SECONDS);
        const stackRps = await floorLoad(server.base, concurrency, SECONDS);
        levels.push({ concurrency, stackRps, pgbench: pgbench.get(concurrency)!, refresh });
      }
      const login = await loginStorm(server.base, 'login@bench.test', password, SECONDS);
      return { levels, login };
    } finally {
      await server.stop();
    }
  } finally {
    await target.drop();
  }
}

const results: RunResult[] = [];
for (let run = 0; run < RUNS; run += 1) {
  const result = await oneRun(run);
  results.push(result);
  for (const level of result.levels) {
    process.stdout.write(
      `run ${run + 1}  c=${level.concurrency}  refresh ${level.refresh.rps.toFixed(0)}/s p50 ${level.refresh.p50.toFixed(1)} ms p99 ${level.refresh.p99.toFixed(1)} ms server CPU ${level.refresh.cpuUsPerRefresh.toFixed(0)} µs/refresh` +
        `  | pgbench (${level.pgbench.clients} clients) ${level.pgbench.tps.toFixed(0)} tps  | ratio ${(level.refresh.rps / level.pgbench.tps).toFixed(2)}` +
        `  | empty transaction over HTTP ${level.stackRps.toFixed(0)}/s (refresh / that ${(level.refresh.rps / level.stackRps).toFixed(2)})\n`,
    );
  }
  process.stdout.write(`run ${run + 1}  logins ${result.login.lps.toFixed(1)}/s (c=${LOGIN_CONCURRENCY}) p50 ${result.login.p50.toFixed(0)} ms  longest event-loop stall ${result.login.stallMs.toFixed(1)} ms (idle server, same machine: ${result.login.idleStallMs.toFixed(1)} ms)\n`);
}

process.stdout.write(`\nmedian of ${RUNS} run(s), ${SECONDS} s each, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}\n`);
process.stdout.write('| concurrency | refresh grants/s | p50 ms | p99 ms | pgbench floor tps (clients) | ratio | empty transaction over HTTP /s | refresh / that |\n|---|---|---|---|---|---|---|---|\n');
for (const [index, concurrency] of LEVELS.entries()) {
  const pick = (f: (r: RunResult) => number) => median(results.map(f));
  const rps = pick((r) => r.levels[index]!.refresh.rps);
  const tps = pick((r) => r.levels[index]!.pgbench.tps);
  const ratio = pick((r) => r.levels[index]!.refresh.rps / r.levels[index]!.pgbench.tps);
  process.stdout.write(
    `| ${concurrency} | ${rps.toFixed(0)} | ${pick((r) => r.levels[index]!.refresh.p50).toFixed(1)} | ${pick((r) => r.levels[index]!.refresh.p99).toFixed(1)} | ${tps.toFixed(0)} (${results[0]!.levels[index]!.pgbench.clients}) | ${ratio.toFixed(2)} | ${pick((r) => r.levels[index]!.stackRps).toFixed(0)} | ${pick((r) => r.levels[index]!.refresh.rps / r.levels[index]!.stackRps).toFixed(2)} |\n`,
  );
}
const loginMedian = (f: (r: RunResult) => number) => median(results.map(f));
process.stdout.write(
  `\npassword logins: ${loginMedian((r) => r.login.lps).toFixed(1)}/s at ${LOGIN_CONCURRENCY} concurrent, p50 ${loginMedian((r) => r.login.p50).toFixed(0)} ms; longest event-loop stall ${loginMedian((r) => r.login.stallMs).toFixed(1)} ms (target < 10 ms; idle server on the same machine: ${loginMedian((r) => r.login.idleStallMs).toFixed(1)} ms)\n`,
);
