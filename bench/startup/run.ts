// Start-up of `latchkey serve --example` (what `npm start` runs): wall time from spawning the process to the first
// 200 from /health, and the server's resident memory (RSS) one second after that, on the embedded
// database (fresh data directory = first start after install, then the same directory again = restart)
// and, when DATABASE_URL is set, on PostgreSQL (a fresh database, then the same one again). It also
// reports the CPU time (all threads) used until the first healthy answer, steadier on a busy machine.
// Needs the compiled CLI: run `npm run build` first (`npm install` in a clone does it).
//
//   npm run bench:startup            (RUNS=7 by default)
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresDatabase } from '../../test-support/postgres.js';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/latchkey.js', import.meta.url));
const RUNS = Number(process.env.RUNS ?? 7);
const BUDGET_FRESH_MS = 1500;
const BUDGET_RESTART_MS = 1000;
/** `getconf CLK_TCK` on Linux. */
const CLOCK_TICKS = 100;

interface Sample {
  readonly ms: number;
  /** CPU time (user + system, all threads) the server used until its first healthy answer, ms: on a busy machine, a steadier figure than wall time. */
  readonly cpuMs: number | null;
  /** Resident set size of the server process one second after its first healthy answer, MB. */
  readonly rssMb: number | null;
}

async function rssOf(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : null;
}

/** User + system CPU time of a process so far (`/proc/<pid>/stat` fields 14 and 15), ms. */
async function cpuOf(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS : null;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function start(env: Record<string, string>): Promise<Sample> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve', '--example'], { env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn', ...env }, stdio: 'ignore' });
  try {
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`);
        if (response.status === 200) break;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 60_000) throw new Error('no healthy answer within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const ms = performance.now() - started;
    const cpuMs = await cpuOf(child.pid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return { ms, cpuMs, rssMb: await rssOf(child.pid) };
  } finally {
    await stop(child);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function report(label: string, samples: Sample[], budget: number | null): void {
  const ms = samples.map((sample) => sample.ms);
  const rss = samples.map((sample) => sample.rssMb).filter((value): value is number => value !== null);
  const budgetText = budget === null ? '' : `   budget ${budget} ms   ${median(ms) <= budget ? 'met' : 'not met'}`;
  const rssText = rss.length > 0 ? `   RSS median ${median(rss).toFixed(0)} MB` : '';
  const cpu = samples.map((sample) => sample.cpuMs).filter((value): value is number => value !== null);
  const cpuText = cpu.length > 0 ? `   CPU median ${median(cpu).toFixed(0)} ms` : '';
  console.log(`${label.padEnd(34)} median ${median(ms).toFixed(0).padStart(5)} ms${budgetText}${cpuText}${rssText}   runs ${ms.map((v) => v.toFixed(0)).join(' ')}`);
}

{
  const fresh: Sample[] = [];
  const restart: Sample[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-startup-'));
    fresh.push(await start({ LATCHKEY_DATA_DIR: dir, DATABASE_URL: '' }));
    restart.push(await start({ LATCHKEY_DATA_DIR: dir, DATABASE_URL: '' }));
    await fs.rm(dir, { recursive: true, force: true });
  }
  report('latchkey serve, embedded, fresh', fresh, BUDGET_FRESH_MS);
  report('latchkey serve, embedded, restart', restart, BUDGET_RESTART_MS);
}

const adminUrl = process.env.DATABASE_URL;
if (adminUrl) {
  const fresh: Sample[] = [];
  const restart: Sample[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-startup-'));
    const database = await createPostgresDatabase(adminUrl);
    try {
      fresh.push(await start({ LATCHKEY_DATA_DIR: dir, DATABASE_URL: database.url }));
      restart.push(await start({ LATCHKEY_DATA_DIR: dir, DATABASE_URL: database.url }));
    } finally {
      await database.drop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
  report('latchkey serve, PostgreSQL, fresh', fresh, null);
  report('latchkey serve, PostgreSQL, restart', restart, null);
}
