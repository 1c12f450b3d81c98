// Wall time of `latchkey token` with a valid stored session against `node -e 0`, in one run.
// Needs the compiled CLI: run `npm run build` first (`npm install` in a clone does it).
//
//   node bench/cli/run.mjs            (RUNS=10 by default; median of each)
//
// The session file is written here (a token valid for an hour), so no server is needed: a valid stored
// token is what `latchkey token` prints in a shell loop.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/latchkey.js', import.meta.url));
const RUNS = Number(process.env.RUNS ?? 10);
const BUDGET = 3;

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-bench-cli-'));
const sessionDir = path.join(home, 'data', 'latchkey');
fs.mkdirSync(sessionDir, { recursive: true, mode: 0o700 });
const payload = Buffer.from(JSON.stringify({ sub: 'bench', exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
fs.writeFileSync(
  path.join(sessionDir, 'session.json'),
  JSON.stringify({
    access_token: `eyJhbGciOiJFUzI1NiJ9.${payload}.c2ln`,
    token_type: 'Bearer',
    access_expires_at: Date.now() + 3600_000,
    refresh_token: 'bench-refresh',
    refresh_expires_at: null,
  }),
  { mode: 0o600 },
);
const env = { ...process.env, HOME: home, XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config'), LATCHKEY_SESSION_FILE: '' };

function time(args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// Interleaved, after one warm-up of each, so both see the same machine.
time(['-e', '0']);
time([BIN, 'token']);
const node = [];
const token = [];
for (let run = 0; run < RUNS; run += 1) {
  node.push(time(['-e', '0']));
  token.push(time([BIN, 'token']));
}
fs.rmSync(home, { recursive: true, force: true });

const report = (label, values) => console.log(`${label.padEnd(26)} median ${median(values).toFixed(1).padStart(7)} ms   runs ${values.map((v) => v.toFixed(0)).join(' ')}`);
report('node -e 0', node);
report('latchkey token', token);
const ratio = median(token) / median(node);
console.log(`ratio ${ratio.toFixed(2)} (budget ${BUDGET}.00): ${ratio <= BUDGET ? 'met' : 'not met'}`);
