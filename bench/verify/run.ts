/**
 * Verification benchmark: ES256, RS256, EdDSA and HS256 verifications per second for
 * `@latchkey/verify` (cache off and on), `jose.jwtVerify`, `fast-jwt` (uncached and cached) and the
 * raw `node:crypto` signature check (the floor), all in one run, with ratios. Then HTTP: the same
 * Fastify route with and without bearer authentication.
 *
 *   node --import tsx bench/verify/run.ts [--seconds 0.25] [--rounds 11] [--http-seconds 1] [--only-http] [--no-http]
 */
import { spawn } from 'node:child_process';
import { createHmac, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createVerifier as createFastJwtVerifier } from 'fast-jwt';
import { jwtVerify } from 'jose';
import { createVerifier } from '../../packages/verify/src/index.js';
import { ALGORITHMS, AUDIENCE, createFixture, ISSUER, type BenchAlgorithm, type Fixture } from './fixtures.js';
import { load } from './load.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);
const WINDOW_SECONDS = option('seconds', 0.25);
const ROUNDS = option('rounds', 11);
const HTTP_SECONDS = option('http-seconds', 1);

type Case = { readonly name: string; readonly run: () => unknown; readonly async: boolean };

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Operations per wall-clock second and per CPU second (this process, all threads) over one window. */
async function opsPerSecond(item: Case, seconds: number): Promise<{ wall: number; cpu: number }> {
  const deadline = performance.now() + seconds * 1000;
  let operations = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  if (item.async) {
    while (performance.now() < deadline) {
      for (let i = 0; i < 16; i += 1) await item.run();
      operations += 16;
    }
  } else {
    while (performance.now() < deadline) {
      for (let i = 0; i < 16; i += 1) item.run();
      operations += 16;
    }
  }
  const cpu = process.cpuUsage(cpuStart);
  return { wall: operations / ((performance.now() - started) / 1000), cpu: operations / ((cpu.user + cpu.system) / 1e6) };
}

function floor(fixture: Fixture): Case {
  const token = fixture.token;
  const data = Buffer.from(token.slice(0, token.lastIndexOf('.')));
  const signature = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
  const key = fixture.keyObject;
  const run = {
    ES256: () => cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature),
    RS256: () => cryptoVerify('sha256', data, key, signature),
    EdDSA: () => cryptoVerify(null, data, key, signature),
    HS256: () => timingSafeEqual(createHmac('sha256', key).update(data).digest(), signature),
  }[fixture.alg];
  if (!run()) throw new Error(`floor does not verify ${fixture.alg}`);
  return { name: 'node:crypto floor', run, async: false };
}

async function casesFor(fixture: Fixture): Promise<Case[]> {
  const alg = fixture.alg;
  const source = alg === 'HS256' ? { secret: fixture.fastJwtKey } : { keys: [fixture.jwk as Record<string, unknown>] };
  const ours = createVerifier({ ...source, issuer: ISSUER, audience: AUDIENCE, algorithms: [alg] });
  const oursCached = createVerifier({ ...source, issuer: ISSUER, audience: AUDIENCE, algorithms: [alg], cache: true });
  const fastJwt = createFastJwtVerifier({ key: fixture.fastJwtKey, algorithms: [alg], allowedIss: ISSUER, allowedAud: AUDIENCE });
  const fastJwtCached = createFastJwtVerifier({ key: fixture.fastJwtKey, algorithms: [alg], allowedIss: ISSUER, allowedAud: AUDIENCE, cache: true });
  const token = fixture.token;
  const joseOptions = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg] };
  const cases: Case[] = [
    floor(fixture),
    { name: 'latchkey verify()', run: () => ours.verify(token), async: true },
    { name: 'latchkey verifyFast()', run: () => ours.verifyFast?.(token), async: false },
    { name: 'latchkey verifySync()', run: () => ours.verifySync(token), async: false },
    { name: 'jose jwtVerify', run: () => jwtVerify(token, fixture.joseKey, joseOptions), async: true },
    { name: 'fast-jwt', run: () => fastJwt(token), async: false },
    { name: 'latchkey verify() cached', run: () => oursCached.verify(token), async: true },
    { name: 'fast-jwt cached', run: () => fastJwtCached(token), async: false },
  ];
  for (const item of cases) {
    const result = await item.run();
    if (result === false) throw new Error(`${item.name} fails to verify ${alg}`);
  }
  return cases;
}

type Samples = Map<string, { wall: number[]; cpu: number[] }>;

async function verificationBenchmark(): Promise<void> {
  const results = new Map<BenchAlgorithm, Samples>();
  for (const alg of ALGORITHMS) {
    const fixture = await createFixture(alg);
    const cases = await casesFor(fixture);
    for (const item of cases) await opsPerSecond(item, 0.1); // warm-up
    const samples: Samples = new Map(cases.map((item) => [item.name, { wall: [], cpu: [] }]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const item of cases) {
        const measured = await opsPerSecond(item, WINDOW_SECONDS);
        samples.get(item.name)?.wall.push(measured.wall);
        samples.get(item.name)?.cpu.push(measured.cpu);
      }
    }
    results.set(alg, samples);
    process.stderr.write(`${alg} done\n`);
  }
  const names = [...(results.get('ES256')?.keys() ?? [])];
  const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');
  for (const basis of ['wall', 'cpu'] as const) {
    const unit = basis === 'wall' ? 'per second (wall clock)' : 'per CPU second (process CPU time, all threads)';
    console.log(`\nVerifications ${unit}: median of ${ROUNDS} × ${WINDOW_SECONDS} s windows, serial\n`);
    console.log(`| verifier | ${ALGORITHMS.join(' | ')} |`);
    console.log(`|---|${ALGORITHMS.map(() => '---:').join('|')}|`);
    for (const name of names) {
      console.log(`| ${name} | ${ALGORITHMS.map((alg) => fmt(median(results.get(alg)?.get(name)?.[basis] ?? [0]))).join(' | ')} |`);
    }
    // Ratios are paired: each round measures both sides back to back, so slow drifts of a shared
    // machine cancel out; the median over rounds is reported.
    const ratio = (alg: BenchAlgorithm, a: string, b: string): string => {
      const xs = results.get(alg)?.get(a)?.[basis] ?? [];
      const ys = results.get(alg)?.get(b)?.[basis] ?? [];
      if (xs.length === 0 || xs.length !== ys.length) return '-';
      return `${median(xs.map((x, index) => x / (ys[index] as number))).toFixed(2)}×`;
    };
    console.log(`\nRatios, ${basis === 'wall' ? 'wall clock' : 'CPU time'} (median of ${ROUNDS} paired rounds)\n`);
    console.log(`| ratio | ${ALGORITHMS.join(' | ')} | target |`);
    console.log(`|---|${ALGORITHMS.map(() => '---:').join('|')}|---|`);
    const rows: Array<[string, string, string, string]> = [
      ['verify() / node:crypto floor', 'latchkey verify()', 'node:crypto floor', 'ES256 ≥ 0.90×'],
      ['verifyFast() / node:crypto floor', 'latchkey verifyFast()', 'node:crypto floor', 'ES256 ≥ 0.90× (the adapters\' path)'],
      ['verifySync() / node:crypto floor', 'latchkey verifySync()', 'node:crypto floor', ''],
      ['node:crypto floor / jose jwtVerify', 'node:crypto floor', 'jose jwtVerify', 'ceiling of any verifier vs jose'],
      ['verify() / jose jwtVerify', 'latchkey verify()', 'jose jwtVerify', 'ES256 ≥ 2.5×'],
      ['verify() / fast-jwt', 'latchkey verify()', 'fast-jwt', ''],
      ['verify() cached / fast-jwt cached', 'latchkey verify() cached', 'fast-jwt cached', '≥ 1.0×'],
    ];
    for (const [label, a, b, target] of rows) console.log(`| ${label} | ${ALGORITHMS.map((alg) => ratio(alg, a, b)).join(' | ')} | ${target} |`);
    // The fastest window of each verifier is the one least disturbed by other processes: a
    // quiet-machine estimate next to the medians.
    const best = (alg: BenchAlgorithm, a: string, b: string): string => {
      const xs = results.get(alg)?.get(a)?.[basis] ?? [];
      const ys = results.get(alg)?.get(b)?.[basis] ?? [];
      return xs.length && ys.length ? `${(Math.max(...xs) / Math.max(...ys)).toFixed(2)}×` : '-';
    };
    console.log(`\nBest-window ratios, ${basis === 'wall' ? 'wall clock' : 'CPU time'} (fastest of ${ROUNDS} windows on each side)\n`);
    console.log(`| ratio | ${ALGORITHMS.join(' | ')} |`);
    console.log(`|---|${ALGORITHMS.map(() => '---:').join('|')}|`);
    for (const [label, a, b] of rows) console.log(`| ${label} | ${ALGORITHMS.map((alg) => best(alg, a, b)).join(' | ')} |`);
  }
}

async function httpBenchmark(): Promise<void> {
  const fixture = await createFixture('ES256');
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./http-server.ts', import.meta.url).pathname], {
    env: { ...process.env, BENCH_JWK: JSON.stringify(fixture.jwk) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  try {
    if (!child.stdout) throw new Error('benchmark server has no stdout');
    const lines = createInterface({ input: child.stdout });
    const [line] = (await once(lines, 'line')) as [string];
    const port = Number(line);
    const authorization = { authorization: `Bearer ${fixture.token}` };
    const shape = { port, connections: 8, pipelining: 8 };
    const routes: Array<[string, string, Record<string, string>]> = [
      ['unauthenticated /open', '/open', {}],
      ['unauthenticated /open, same Authorization header sent', '/open', authorization],
      ['unauthenticated, no-op onRequest hook, same header', '/open-noop-hook', authorization],
      ['unauthenticated, scoped hook setting fixed claims, same header', '/scope-fixed', authorization],
      ['authenticated /auth (ES256, cache on)', '/auth', authorization],
      ['authenticated /auth-uncached (ES256, cache off)', '/auth-uncached', authorization],
    ];
    for (const [, path, headers] of routes) await load({ ...shape, path, headers, seconds: 0.5 }); // warm-up
    const samples = new Map<string, number[]>(routes.map(([name]) => [name, []]));
    const cpuSamples = new Map<string, number[]>(routes.map(([name]) => [name, []]));
    const serverCpu = async (): Promise<number> => {
      const usage = (await (await fetch(`http://127.0.0.1:${port}/cpu`)).json()) as { user: number; system: number };
      return usage.user + usage.system;
    };
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [name, path, headers] of routes) {
        const before = await serverCpu();
        const result = await load({ ...shape, path, headers, seconds: HTTP_SECONDS });
        const spent = (await serverCpu()) - before;
        if (result.ok !== result.requests) throw new Error(`${name}: ${result.requests - result.ok} non-200 answers`);
        samples.get(name)?.push(result.perSecond);
        cpuSamples.get(name)?.push(spent / result.requests);
      }
    }
    // Baseline: the same request bytes to the route without authentication, so the ratio is the
    // cost of the bearer check alone (the no-header row shows what the 0.6 KB header itself costs).
    const baseline = 'unauthenticated /open, same Authorization header sent';
    const paired = (name: string, source: Map<string, number[]>, invert: boolean): number => {
      const xs = source.get(name) ?? [];
      const ys = source.get(baseline) ?? [];
      return median(xs.map((x, index) => (invert ? (ys[index] as number) / x : x / (ys[index] as number))));
    };
    console.log(`\nHTTP requests per second, same Fastify handler (median of ${ROUNDS} × ${HTTP_SECONDS} s, 8 connections × 8 pipelined; ratios paired per round)\n`);
    console.log('| route | req/s | vs unauthenticated | server CPU µs/request | CPU vs unauthenticated | target |');
    console.log('|---|---:|---:|---:|---:|---|');
    for (const [name] of routes) {
      const value = median(samples.get(name) ?? []);
      const cpu = median(cpuSamples.get(name) ?? []);
      const target = name.includes('cache on') ? '≥ 0.95× req/s' : '';
      console.log(`| ${name} | ${Math.round(value).toLocaleString('en-US')} | ${paired(name, samples, false).toFixed(2)}× | ${cpu.toFixed(1)} | ${paired(name, cpuSamples, true).toFixed(2)}× | ${target} |`);
    }
  } finally {
    child.kill();
  }
}

console.log(`node ${process.version}, ${new Date().toISOString()}`);
if (!flag('only-http')) await verificationBenchmark();
if (!flag('no-http')) await httpBenchmark();
