/**
 * Revocation benchmark: two `latchkey serve` processes (nodes A and B) on one PostgreSQL database and
 * one Redis. For each of N sessions, a signed-in user holds a connection of the official `centrifuge`
 * client on node B's gateway and calls node B's example API; the user logs out on node A. Measured
 * from sending the logout request: (a) until the centrifuge socket on B closes with the session-ended
 * code, (b) until B's example API first answers 401. Then the cost of the revocation feed check in
 * `@latchkey/verify`: verifications per CPU second with the feed's `check` (following node B's feed,
 * holding the run's events) against the same verifier without it, paired rounds.
 *
 *   node --import tsx bench/revocation/run.ts [--sessions 200] [--rounds 11] [--seconds 0.25]
 *
 * Needs DATABASE_URL (a PostgreSQL server; a fresh database is created and dropped) and REDIS_URL.
 */
import { randomBytes } from 'node:crypto';
import { Centrifuge } from 'centrifuge';
import { decodeJwt } from 'jose';
import WebSocket from 'ws';
import { createVerifier, type Claims } from '../../packages/verify/src/index.js';
import { createRevocationFeed, inProcessRevocationSource, type RevocationFeed } from '../../packages/verify/src/feed/index.js';
import pg from 'pg';
import { spawnNode, type Spawned } from '../../test-support/processes.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}
const SESSIONS = option('sessions', 200);
const ROUNDS = option('rounds', 11);
const WINDOW_SECONDS = option('seconds', 0.25);
/** How long to wait for a close or a 401 before counting the session as missed. */
const WAIT_MS = option('wait-ms', 5000);
const SESSION_ENDED = 4501;

interface Node {
  readonly process: Spawned;
  readonly url: string;
}

interface Session {
  readonly token: string;
  readonly client: Centrifuge;
  closed: Promise<{ code: number; at: number } | null>;
}

/** Creates an empty database on the `DATABASE_URL` server; returns its URL and how to drop it. */
async function createDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `latchkey_bench_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`drop database if exists ${name} with (force)`) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

function median(values: readonly number[]): number {
  return percentile(values, 50);
}

async function startNode(env: Record<string, string>): Promise<Node> {
  const child = spawnNode(new URL('./serve.ts', import.meta.url).pathname, ['--example'], env);
  const match = await child.waitFor(/identity\s+(http:\/\/\S+)\/auth\/v1/, 60_000);
  return { process: child, url: match[1] as string };
}

async function json(url: string, init: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function signUp(node: Node, anonKey: string, index: number): Promise<string> {
  const answer = await json(`${node.url}/auth/v1/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', apikey: anonKey },
    body: JSON.stringify({ email: `bench-${index}-${randomBytes(4).toString('hex')}@example.com`, password: 'correct horse battery staple' }),
  });
  if (answer.status !== 200 || typeof answer.body.access_token !== 'string') throw new Error(`sign-up answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body.access_token;
}

/** Connects the official client to node B with `token`; resolves once connected. */
async function connect(node: Node, token: string): Promise<Session> {
  const client = new Centrifuge(`${node.url.replace(/^http/, 'ws')}/connection/websocket`, { websocket: WebSocket, token, minReconnectDelay: 50, maxReconnectDelay: 300 });
  const connected = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connection within 10 s')), 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  client.connect();
  await connected;
  const closed = new Promise<{ code: number; at: number } | null>((resolve) => {
    client.once('disconnected', (context: { code: number }) => resolve({ code: context.code, at: performance.now() }));
  });
  return { token, client, closed };
}

/** Polls node B's example API with `token` until it answers 401; the time of that answer, or null. */
async function firstRefusal(node: Node, token: string, deadline: number): Promise<number | null> {
  while (performance.now() < deadline) {
    const response = await fetch(`${node.url}/api/v1/notes`, { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    if (response.status === 401) return performance.now();
    if (response.status !== 200) throw new Error(`example API answered ${response.status}`);
    await sleep(2);
  }
  return null;
}

async function revocationLatency(nodeA: Node, nodeB: Node, anonKey: string): Promise<{ close: number[]; refusal: number[]; logout: number[]; closeCodes: Map<number, number>; missedClose: number; missedRefusal: number }> {
  const tokens: string[] = [];
  for (let i = 0; i < SESSIONS; i += 1) tokens.push(await signUp(nodeA, anonKey, i));
  const sessions: Session[] = [];
  for (const token of tokens) sessions.push(await connect(nodeB, token));
  // Every token works on B first.
  for (const session of sessions.slice(0, 5)) if ((await fetch(`${nodeB.url}/api/v1/notes`, { headers: { authorization: `Bearer ${session.token}` } })).status !== 200) throw new Error('token refused before logout');
  process.stderr.write(`${SESSIONS} sessions connected on node B\n`);

  const close: number[] = [];
  const refusal: number[] = [];
  const logout: number[] = [];
  const closeCodes = new Map<number, number>();
  let missedClose = 0;
  let missedRefusal = 0;
  for (const session of sessions) {
    const started = performance.now();
    const deadline = started + WAIT_MS;
    const loggingOut = fetch(`${nodeA.url}/auth/v1/logout?scope=local`, { method: 'POST', headers: { apikey: anonKey, authorization: `Bearer ${session.token}` } }).then(async (response) => {
      await response.arrayBuffer();
      if (response.status !== 204) throw new Error(`logout answered ${response.status}`);
      logout.push(performance.now() - started);
    });
    const refused = firstRefusal(nodeB, session.token, deadline);
    const closedOrTimeout = Promise.race([session.closed, sleep(Math.max(0, deadline - performance.now())).then(() => null)]);
    const [, refusedAt, closedAt] = await Promise.all([loggingOut, refused, closedOrTimeout]);
    if (refusedAt === null) missedRefusal += 1;
    else refusal.push(refusedAt - started);
    if (closedAt === null) missedClose += 1;
    else {
      closeCodes.set(closedAt.code, (closeCodes.get(closedAt.code) ?? 0) + 1);
      if (closedAt.code === SESSION_ENDED) close.push(closedAt.at - started);
      else missedClose += 1;
    }
    session.client.disconnect();
  }
  return { close, refusal, logout, closeCodes, missedClose, missedRefusal };
}

/** Verifications per CPU second of `run` over one window. */
function perCpuSecond(run: () => unknown): number {
  const deadline = performance.now() + WINDOW_SECONDS * 1000;
  let operations = 0;
  const cpuStart = process.cpuUsage();
  while (performance.now() < deadline) {
    for (let i = 0; i < 16; i += 1) run();
    operations += 16;
  }
  const cpu = process.cpuUsage(cpuStart);
  return operations / ((cpu.user + cpu.system) / 1e6);
}

/** A feed holding `count` synthetic unexpired events of other users and sessions. */
async function largeFeed(count: number): Promise<RevocationFeed> {
  const now = Math.floor(Date.now() / 1000);
  const events = Array.from({ length: count }, (_, index) => ({
    id: String(index + 1),
    kind: 'logout' as const,
    user_id: `user-${index}`,
    session_ids: [`session-${index}`],
    organization_id: null,
    client_id: null,
    issued_before: now,
    expires_at: now + 3600,
  }));
  const feed = createRevocationFeed({
    source: inProcessRevocationSource({ subscribe: () => () => undefined, since: async (after, limit = 1000) => events.slice(after === null ? 0 : Number(after), (after === null ? 0 : Number(after)) + limit) }),
  });
  await feed.ready;
  return feed;
}

async function checkCost(nodeB: Node, serviceKey: string, anonKey: string, nodeA: Node): Promise<Array<[string, number, number, number, number]>> {
  const following = createRevocationFeed({ url: `${nodeB.url}/auth/v1/revocations`, serviceKey });
  await following.ready;
  const large = await largeFeed(100_000);
  try {
    const token = await signUp(nodeA, anonKey, -1);
    const claims = decodeJwt(token) as Claims;
    const jwks = (await (await fetch(`${nodeB.url}/auth/v1/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    const base = { keys: jwks.keys, issuer: String(claims.iss), audience: 'authenticated' } as const;
    const rows: Array<[string, number, number, number, number]> = [];
    for (const [source, feed] of [['following node B', following], ['100,000 synthetic events', large]] as const) {
      if (feed.check(claims)) throw new Error('fresh token refused');
      for (const cache of [false, true]) {
        const plain = createVerifier({ ...base, cache });
        const checked = createVerifier({ ...base, cache, revocation: feed.check });
        const runPlain = () => plain.verifyFast?.(token);
        const runChecked = () => checked.verifyFast?.(token);
        perCpuSecond(runPlain);
        perCpuSecond(runChecked);
        const ratios: number[] = [];
        for (let round = 0; round < ROUNDS; round += 1) {
          // Alternate the order so that drifts of a shared machine hit both sides alike.
          const checkedFirst = round % 2 === 0;
          const first = perCpuSecond(checkedFirst ? runChecked : runPlain);
          const second = perCpuSecond(checkedFirst ? runPlain : runChecked);
          ratios.push(checkedFirst ? first / second : second / first);
        }
        // The check alone, per call, and the ratio it implies: steadier than two loaded windows.
        const checks = median(Array.from({ length: ROUNDS }, () => perCpuSecond(() => feed.check(claims))));
        const plainRate = median(Array.from({ length: 3 }, () => perCpuSecond(runPlain)));
        const implied = 1 / plainRate / (1 / plainRate + 1 / checks);
        rows.push([`ES256, ${cache ? 'verified-token cache on' : 'no cache'}, feed ${source}`, median(ratios), feed.state.events, 1e9 / checks, implied]);
      }
    }
    return rows;
  } finally {
    await following.close();
    await large.close();
  }
}

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!databaseUrl || !redisUrl) {
  console.error('set DATABASE_URL (PostgreSQL) and REDIS_URL');
  process.exit(2);
}
const database = await createDatabase(databaseUrl);
const env = {
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: database.url,
  REDIS_URL: redisUrl,
  LATCHKEY_REDIS_PREFIX: `bench-${randomBytes(4).toString('hex')}`,
  // Both nodes issue and accept the same `iss`, whatever port each listens on.
  LATCHKEY_JWT_ISSUER: 'http://latchkey.bench/auth/v1',
  LATCHKEY_RATE_LIMIT_SIGNUP: '0',
  LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0',
  LOG_LEVEL: 'warn',
};
const nodes: Node[] = [];
try {
  nodes.push(await startNode(env));
  nodes.push(await startNode(env));
  const [nodeA, nodeB] = nodes as [Node, Node];
  const anonKey = nodeA.process.output().match(/anon key\s+(\S+)/)?.[1];
  const serviceKey = nodeA.process.output().match(/service_role key\s+(\S+)/)?.[1];
  if (!anonKey || !serviceKey) throw new Error('keys not printed at start');

  const result = await revocationLatency(nodeA, nodeB, anonKey);
  const cost = await checkCost(nodeB, serviceKey, anonKey, nodeA);

  const ms = (value: number) => (Number.isNaN(value) ? '—' : `${value.toFixed(1)} ms`);
  console.log(`\nRevocation across two nodes (PostgreSQL + Redis), ${SESSIONS} sessions, from sending the logout to node A\n`);
  console.log('| figure | p50 | p99 | max | measured | missed | goal |');
  console.log('|---|---:|---:|---:|---:|---:|---|');
  const row = (label: string, values: number[], missed: number, goal: string) =>
    console.log(`| ${label} | ${ms(percentile(values, 50))} | ${ms(percentile(values, 99))} | ${ms(percentile(values, 100))} | ${values.length} | ${missed} | ${goal} |`);
  row(`(a) centrifuge socket on node B closed with ${SESSION_ENDED}`, result.close, result.missedClose, 'p99 ≤ 1 s');
  row('(b) first 401 from the example API on node B', result.refusal, result.missedRefusal, 'p99 ≤ 1 s');
  row('logout request itself (204 on node A)', result.logout, 0, '—');
  if (result.closeCodes.size > 0) console.log(`\nClose codes seen on node B: ${[...result.closeCodes].map(([code, count]) => `${code} × ${count}`).join(', ')}`);
  console.log(`\nVerify cost with the feed check against without it (verifyFast, CPU time, median of ${ROUNDS} paired rounds)\n`);
  console.log('| verifier | with / without (measured) | check alone | with / without (implied by the check\'s cost) | events held by the feed | goal |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const [label, ratio, events, checkNs, implied] of cost) console.log(`| ${label} | ${ratio.toFixed(3)}× | ${checkNs.toFixed(0)} ns | ${implied.toFixed(4)}× | ${events} | ≥ 0.97× |`);
} finally {
  for (const node of nodes) {
    node.process.child.kill('SIGTERM');
    await node.process.exited;
  }
  await database.drop();
}
