// Time from process start to the first 200 from /health, for `latchkey serve` with the embedded
// database: on a fresh data directory (first start after install) and on an existing one (restart).
// Prints medians of several runs and their ratio to the 3-second budget.
//
//   npm run bench:startup            (RUNS=7 by default)
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/latchkey.js', import.meta.url));
const RUNS = Number(process.env.RUNS ?? 7);
const BUDGET_MS = 3000;

async function timeToHealth(dataDir: string): Promise<number> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, PORT: String(port), LATCHKEY_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  try {
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`);
        if (response.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 60_000) throw new Error('no healthy answer within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const fresh: number[] = [];
const restart: number[] = [];
for (let run = 0; run < RUNS; run += 1) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-startup-'));
  fresh.push(await timeToHealth(dir));
  restart.push(await timeToHealth(dir));
  await fs.rm(dir, { recursive: true, force: true });
}
const report = (label: string, values: number[]) =>
  console.log(`${label.padEnd(32)} median ${median(values).toFixed(0).padStart(5)} ms   budget ${BUDGET_MS} ms   ratio ${(median(values) / BUDGET_MS).toFixed(2)}   runs ${values.map((v) => v.toFixed(0)).join(' ')}`);
report('fresh data directory', fresh);
report('restart (existing data)', restart);
