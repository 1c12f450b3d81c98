/**
 * Client SDK benchmark against a real identity service (in-process, embedded PGlite), compared with
 * @supabase/supabase-js (auth-js) in the same run:
 *   1. stampede: a client starts with an expired stored session and 1000 callers ask for a token at
 *      once — token requests sent, and time from creating the client until every caller holds a fresh
 *      token (ours: `TokenManager.authorizationHeader()`, peer: `auth.getSession()`);
 *   2. hot path: calls per second for the header of a valid session.
 * Prints medians of BENCH_RUNS runs and our/peer ratios.
 *
 *   node --import tsx bench/client/run.ts
 */
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { LatchkeyApi, MemoryTokenStore, TokenSet } from '@latchkey/client';
import { loadServerConfig, openPgliteDatabase, startServer } from '@latchkey/server';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CALLERS = Number(process.env.BENCH_CALLERS ?? 1000);
const HOT_MS = Number(process.env.BENCH_HOT_MS ?? 1000);
const PASSWORD = 'correct-horse-battery';

const db = await openPgliteDatabase(null);
let tokenRequests = 0;
const server = await startServer({
  env: { LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0', LATCHKEY_RATE_LIMIT_SIGNUP: '0', LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '0' },
  config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
  database: db,
  services: { identity: true },
  extend: (app) => {
    app.addHook('onRequest', async (request) => {
      if (request.method === 'POST' && request.url.startsWith('/auth/v1/token')) tokenRequests += 1;
    });
  },
});
const anonKey = server.services.identity!.apiKeys.anonKey;
const address = `bench-${Date.now()}@example.com`;
await new LatchkeyApi(server.url, { anonKey }).auth.signUp({ email: address, password: PASSWORD });

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function oursStampede(): Promise<{ ms: number; requests: number }> {
  const { tokens } = await new LatchkeyApi(server.url, { anonKey }).auth.login({ email: address, password: PASSWORD });
  const store = new MemoryTokenStore(new TokenSet({ ...tokens, accessExpiresAt: Date.now() - 1000 }));
  const before = tokenRequests;
  const started = performance.now();
  const api = new LatchkeyApi(server.url, { anonKey, store });
  await Promise.all(Array.from({ length: CALLERS }, () => api.tokens.authorizationHeader()));
  return { ms: performance.now() - started, requests: tokenRequests - before };
}

function supabase(storage: Map<string, string>) {
  return createClient(server.url, anonKey, {
    auth: {
      autoRefreshToken: false,
      persistSession: true,
      detectSessionInUrl: false,
      storageKey: 'bench',
      storage: {
        getItem: (key) => storage.get(key) ?? null,
        setItem: (key, value) => void storage.set(key, value),
        removeItem: (key) => void storage.delete(key),
      },
    },
    realtime: { transport: WebSocket as never },
  });
}

async function peerStampede(): Promise<{ ms: number; requests: number }> {
  const storage = new Map<string, string>();
  const client = supabase(storage);
  const { data, error } = await client.auth.signInWithPassword({ email: address, password: PASSWORD });
  if (error || !data.session) throw error ?? new Error('no session');
  storage.set('bench', JSON.stringify({ ...data.session, expires_at: Math.floor(Date.now() / 1000) - 10 }));
  const before = tokenRequests;
  const started = performance.now();
  const fresh = supabase(storage); // recovers (and refreshes) the stored session while starting
  const sessions = await Promise.all(Array.from({ length: CALLERS }, () => fresh.auth.getSession()));
  const ms = performance.now() - started;
  if (sessions.some((s) => s.error || !s.data.session)) throw new Error('peer callers failed');
  return { ms, requests: tokenRequests - before };
}

async function hot(call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await call();
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < HOT_MS) {
    await call();
    calls += 1;
  }
  return (calls * 1000) / (performance.now() - started);
}

const ours = { ms: [] as number[], requests: [] as number[], hot: [] as number[] };
const peer = { ms: [] as number[], requests: [] as number[], hot: [] as number[] };
for (let run = 0; run < RUNS; run++) {
  const a = await oursStampede();
  ours.ms.push(a.ms);
  ours.requests.push(a.requests);
  const b = await peerStampede();
  peer.ms.push(b.ms);
  peer.requests.push(b.requests);

  const api = new LatchkeyApi(server.url, { anonKey });
  await api.auth.login({ email: address, password: PASSWORD });
  ours.hot.push(await hot(() => api.tokens.authorizationHeader()));
  const storage = new Map<string, string>();
  const client = supabase(storage);
  await client.auth.signInWithPassword({ email: address, password: PASSWORD });
  peer.hot.push(await hot(() => client.auth.getSession()));
}

const line = (label: string, oursValue: number, peerValue: number, unit: string, digits = 1) =>
  `${label.padEnd(44)} ours ${oursValue.toFixed(digits).padStart(10)} ${unit}   supabase-js ${peerValue.toFixed(digits).padStart(10)} ${unit}   ratio ${(oursValue / peerValue).toFixed(2)}`;
console.log(`client SDK benchmark: ${RUNS} runs, ${CALLERS} concurrent callers, medians (Node ${process.version})`);
console.log(line(`stampede: token requests (${CALLERS} callers)`, median(ours.requests), median(peer.requests), 'req', 0));
console.log(line('stampede: time until all callers hold a token', median(ours.ms), median(peer.ms), 'ms'));
console.log(line('hot path: header of a valid session', median(ours.hot), median(peer.hot), 'calls/s', 0));
await server.close();
await db.close();
