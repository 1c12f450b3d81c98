import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openPgliteDatabase } from '@latchkey/server';
import { describeWith } from '../../../test-support/integration.js';
import { createPostgresDatabase } from '../../../test-support/databases.js';
import { LATCHKEY_BIN, spawnNode } from '../../../test-support/processes.js';

const SLOW_SERVER = fileURLToPath(new URL('./fixtures/slow-server.ts', import.meta.url));
const BANNER_URL = /health\s+(http:\/\/[^\s]+)\/health/;

const scratch: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-serve-'));
  scratch.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(scratch.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

async function startServe(env: Record<string, string>, flags: readonly string[] = []): Promise<{ url: string; stop: () => Promise<number | string> }> {
  // Start-up time is measured by bench/startup, not asserted here: test machines are shared.
  const proc = spawnNode(LATCHKEY_BIN, ['serve', ...flags], { PORT: '0', ...env });
  const match = await proc.waitFor(BANNER_URL, 60_000);
  const url = match[1]!;
  const health = await fetch(`${url}/health`);
  expect(health.status).toBe(200);
  return {
    url,
    async stop() {
      proc.child.kill('SIGTERM');
      return proc.exited;
    },
  };
}

describe('latchkey serve', { timeout: 90_000 }, () => {
  it('answers /health and keeps embedded data across restarts', async () => {
    const dataDir = await tempDir();
    const first = await startServe({ LATCHKEY_DATA_DIR: dataDir, DATABASE_URL: '' });
    const body = (await (await fetch(`${first.url}/health`)).json()) as { status: string; database: { kind: string } };
    expect(body).toMatchObject({ status: 'ok', database: { status: 'up', kind: 'pglite' } });
    // Without --example there is no example API, and no table of it.
    expect((await fetch(`${first.url}/api/v1/notes`)).status).toBe(404);
    expect(await first.stop()).toBe(0);

    const db = await openPgliteDatabase(path.join(dataDir, 'pgdata'));
    expect((await db.query(`select to_regclass('public.notes')::text as found`)).rows).toEqual([{ found: null }]);
    await db.query('create table restart_marker (v text)');
    await db.query(`insert into restart_marker values ('kept')`);
    await db.close();

    const second = await startServe({ LATCHKEY_DATA_DIR: dataDir, DATABASE_URL: '' }, ['--example']);
    const unauthenticated = await fetch(`${second.url}/api/v1/notes`);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toBe('Bearer realm="latchkey"');
    expect((await fetch(`${second.url}/api/v1/openapi.json`)).status).toBe(200);
    expect(await second.stop()).toBe(0);
    const reopened = await openPgliteDatabase(path.join(dataDir, 'pgdata'));
    expect((await reopened.query('select v from restart_marker')).rows).toEqual([{ v: 'kept' }]);
    expect((await reopened.query(`select to_regclass('public.notes')::text as found`)).rows).toEqual([{ found: 'notes' }]);
    const versions = await reopened.query<{ n: number }>('select count(*)::int8 as n from public.latchkey_migrations');
    expect(versions.rows[0]!.n).toBeGreaterThan(0);
    await reopened.close();
  });

  it('exits 2 with one line naming PORT when it is not a number', async () => {
    const proc = spawnNode(LATCHKEY_BIN, ['serve'], { PORT: 'abc' });
    expect(await proc.exited).toBe(2);
    expect(proc.output().trim()).toBe('latchkey: PORT: must be a whole number (got "abc")');
  });

  it('exits 2 within seconds when DATABASE_URL cannot be reached', async () => {
    const started = Date.now();
    const proc = spawnNode(LATCHKEY_BIN, ['serve'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing', PORT: '0' });
    expect(await proc.exited).toBe(2);
    expect(Date.now() - started).toBeLessThan(20_000);
    const lines = proc.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^latchkey: DATABASE_URL: cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/nothing/);
  });

  it('finishes an in-flight request on SIGTERM and exits 0', async () => {
    const proc = spawnNode(SLOW_SERVER, []);
    const url = (await proc.waitFor(BANNER_URL, 60_000))[1]!;
    const pending = fetch(`${url}/slow`).then(async (response) => ({ status: response.status, body: await response.json() }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    proc.child.kill('SIGTERM');
    expect(await pending).toEqual({ status: 200, body: { finished: true } });
    expect(await proc.exited).toBe(0);
  });
});

describeWith(['DATABASE_URL'], 'latchkey serve and migrate on PostgreSQL', () => {
  it('serves with DATABASE_URL', async () => {
    const database = await createPostgresDatabase();
    try {
      const server = await startServe({ DATABASE_URL: database.url });
      const body = (await (await fetch(`${server.url}/health`)).json()) as { database: { kind: string } };
      expect(body.database.kind).toBe('postgres');
      expect(await server.stop()).toBe(0);
    } finally {
      await database.drop();
    }
  }, 90_000);

  it('runs each migration once when two migrate processes start together', async () => {
    const database = await createPostgresDatabase();
    try {
      const runs = [0, 1].map(() => spawnNode(LATCHKEY_BIN, ['migrate', '--json'], { DATABASE_URL: database.url }));
      const codes = await Promise.all(runs.map((run) => run.exited));
      expect(codes).toEqual([0, 0]);
      const reports = runs.map((run) => JSON.parse(run.output().trim().split('\n').at(-1)!) as { applied: string[] });
      const appliedTotal = reports.flatMap((report) => report.applied);
      expect(new Set(appliedTotal).size).toBe(appliedTotal.length);
      expect(reports.filter((report) => report.applied.length > 0)).toHaveLength(1);
    } finally {
      await database.drop();
    }
  }, 90_000);
});
