/**
 * The embedded database under hard faults: `latchkey serve` on PGlite (a data directory of its own) is
 * killed with SIGKILL during a stream of sign-ups and refreshes, then started again, `--rounds` times
 * (default 20). After every restart: the server is healthy, every sign-up that got a 200 is found, and
 * every session's latest acknowledged refresh token still refreshes (no session lost).
 *
 *   npm run bench:embedded-kill                  20 rounds
 *   npm run bench:embedded-kill -- --rounds 5    the CI form
 *
 * Needs a build (`npm run build`). Exit code 1 when any round misses.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createNode, sleep } from './services.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../packages/cli/bin/latchkey.js', import.meta.url));
const roundsIndex = process.argv.indexOf('--rounds');
const ROUNDS = roundsIndex === -1 ? 20 : Number(process.argv[roundsIndex + 1]);
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

interface Session {
  readonly user: string;
  refreshToken: string;
}

async function post(url: string, body: unknown, anonKey: string): Promise<{ status: number; body: Record<string, unknown> | null }> {
  try {
    const response = await fetch(url, { method: 'POST', headers: { apikey: anonKey, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  } catch {
    return { status: 0, body: null };
  }
}

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-embedded-kill-'));
  const node = await createNode('embedded', dir, { LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0', LATCHKEY_RATE_LIMIT_SIGNUP: '0' });
  const users: string[] = [];
  const sessions: Session[] = [];
  let clean = 0;
  let acknowledged = 0;
  const problems: string[] = [];
  try {
    let keys: { anon_key: string; service_role_key: string } | undefined;
    for (let round = 1; round <= ROUNDS; round += 1) {
      let healthyMs: number;
      try {
        healthyMs = await node.start();
      } catch (error) {
        problems.push(`round ${round}: not healthy after restart (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
        break;
      }
      keys ??= JSON.parse((await run(process.execPath, [CLI, 'keys', '--json', '--data-dir', node.dataDir])).stdout) as { anon_key: string; service_role_key: string };
      const { anon_key: anonKey, service_role_key: serviceKey } = keys;
      // Every acknowledged write of the earlier rounds is there.
      let missingUsers = 0;
      for (const id of users) {
        const response = await fetch(`${node.url}/auth/v1/admin/users/${id}`, { headers: { apikey: serviceKey, authorization: `Bearer ${serviceKey}` } });
        await response.arrayBuffer();
        if (response.status !== 200) missingUsers += 1;
      }
      let lostSessions = 0;
      for (const session of sessions) {
        const answer = await post(`${node.url}/auth/v1/token?grant_type=refresh_token`, { refresh_token: session.refreshToken }, anonKey);
        if (answer.status === 200) session.refreshToken = answer.body!.refresh_token as string;
        else lostSessions += 1;
      }
      if (missingUsers === 0 && lostSessions === 0) clean += 1;
      else problems.push(`round ${round}: ${missingUsers} acknowledged sign-ups missing, ${lostSessions} sessions lost`);
      log(`round ${round}: healthy after ${Math.round(healthyMs)} ms; ${users.length} sign-ups and ${sessions.length} sessions checked (${missingUsers} missing, ${lostSessions} lost)`);

      // A stream of sign-ups and refreshes, killed at a random moment.
      let stop = false;
      const worker = async (kind: 'sign-up' | 'refresh') => {
        while (!stop) {
          if (kind === 'sign-up' || sessions.length === 0) {
            const answer = await post(`${node.url}/auth/v1/signup`, { email: `kill-${randomUUID()}@example.com`, password: 'correct-horse-battery-1' }, anonKey);
            if (answer.status === 200) {
              const user = (answer.body!.user as { id: string }).id;
              users.push(user);
              sessions.push({ user, refreshToken: answer.body!.refresh_token as string });
              acknowledged += 1;
            }
          } else {
            const session = sessions[Math.floor(Math.random() * sessions.length)]!;
            const presented = session.refreshToken;
            const answer = await post(`${node.url}/auth/v1/token?grant_type=refresh_token`, { refresh_token: presented }, anonKey);
            // Only an answered rotation moves the session on; a request cut by the kill keeps the old token.
            if (answer.status === 200 && session.refreshToken === presented) {
              session.refreshToken = answer.body!.refresh_token as string;
              acknowledged += 1;
            }
          }
        }
      };
      const workers = [worker('sign-up'), worker('refresh'), worker('refresh')];
      // Killed mid-stream: once this round has a few acknowledged sign-ups, at a random moment after.
      const usersBefore = users.length;
      const deadline = performance.now() + 15_000;
      while (users.length < usersBefore + 2 && performance.now() < deadline) await sleep(50);
      await sleep(Math.random() * 1500);
      await node.stop('SIGKILL');
      stop = true;
      await Promise.all(workers);
    }
    const final = await node.start().catch(() => NaN);
    log(`final start healthy after ${Math.round(final)} ms`);
  } finally {
    await node.stop('SIGTERM');
    await fs.rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(`embedded database killed with SIGKILL ${ROUNDS} times during sign-ups and refreshes: ${clean}/${ROUNDS} clean restarts; ${acknowledged} acknowledged writes (${users.length} sign-ups), ${problems.length === 0 ? 'none missing, no session lost' : problems.join('; ')}\n`);
  if (clean !== ROUNDS) process.exitCode = 1;
}

await main();
