import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClaims } from '@latchkey/verify';
import { ExtensionError, loadServerConfig, migrateExtension, startServer, type Database, type RunningServer } from '@latchkey/server';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { NOTES_MIGRATIONS, notesApi } from '../src/index.js';

const CONFIG = loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' });

async function tableExists(db: Database): Promise<boolean> {
  const { rows } = await db.query<{ found: string | null }>(`select to_regclass('public.notes')::text as found`);
  return rows[0]!.found !== null;
}

async function recordedVersions(db: Database): Promise<string[]> {
  const { rows } = await db.query<{ version: string }>(`select version from public.latchkey_migrations where version like 'notes-api:%' order by version`);
  return rows.map((row) => row.version);
}

describeEachDatabase('the notes API is created only where it is mounted', (database) => {
  let plain: RunningServer;

  beforeAll(async () => {
    plain = await startServer({ config: CONFIG, env: {}, database: database() });
  });

  afterAll(async () => {
    await plain?.close();
  });

  it('a server started without the example has no notes table and no /api/v1', async () => {
    expect(await tableExists(database())).toBe(false);
    expect(await recordedVersions(database())).toEqual([]);
    expect((await fetch(`${plain.url}/api/v1/notes`)).status).toBe(404);
    expect((await fetch(`${plain.url}/api/v1/openapi.json`)).status).toBe(404);
  });

  it('mounting the example creates the table, records its migrations by name and serves /api/v1', async () => {
    const server = await startServer({ config: CONFIG, env: {}, database: database(), extensions: [notesApi()] });
    try {
      expect(await tableExists(database())).toBe(true);
      expect(await recordedVersions(database())).toEqual(NOTES_MIGRATIONS.map((migration) => `notes-api:${migration.version}`));
      const answer = await fetch(`${server.url}/api/v1/notes`);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="latchkey"');
      expect(server.banner.some((line) => line.includes('/api/v1'))).toBe(true);
    } finally {
      await server.close();
    }
    // A second start finds nothing to apply.
    expect(await migrateExtension(database(), notesApi())).toMatchObject({ applied: [] });
  });
});

describeEachDatabase('a database that already holds the notes table from before', (database) => {
  const organization = randomUUID();

  beforeAll(async () => {
    // As the organizations migration used to leave it: the table with its policies and a row,
    // and no record of the example's own migration.
    const db = database();
    for (const migration of NOTES_MIGRATIONS) await db.execScript(migration.sql);
    await db.query(`insert into auth.organizations (id, name) values ($1, 'Kept')`, [organization]);
    await db.query(`insert into public.notes (organization_id, title) values ($1, 'written before')`, [organization]);
  });

  it('mounting the example keeps the rows and the policies', async () => {
    const report = await migrateExtension(database(), notesApi());
    expect(report.applied).toEqual(NOTES_MIGRATIONS.map((migration) => `notes-api:${migration.version}_${migration.name}`));
    const { rows } = await database().query<{ title: string }>('select title from public.notes');
    expect(rows.map((row) => row.title)).toEqual(['written before']);
    const visible = await withClaims(database(), { sub: randomUUID(), role: 'authenticated', app_metadata: { organization_id: organization } }, async (tx) => (await tx.query('select * from public.notes')).rows);
    expect(visible).toEqual([]);
    const forService = await withClaims(database(), { role: 'service_role' }, async (tx) => (await tx.query('select * from public.notes')).rows);
    expect(forService).toHaveLength(1);
  });
});

describe('the extension point', () => {
  it('refuses the example without the identity service, and two extensions of one name', async () => {
    await expect(startServer({ config: CONFIG, env: {}, services: {}, extensions: [notesApi()] })).rejects.toMatchObject({ code: 'ERR_EXTENSION_NEEDS_IDENTITY' });
    await expect(startServer({ config: CONFIG, env: {}, services: { identity: true }, extensions: [notesApi(), notesApi({ prefix: '/api/v2' })] })).rejects.toBeInstanceOf(ExtensionError);
  });
});
