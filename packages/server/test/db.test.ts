import { describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { MigrationError, migrate, openPgliteDatabase, readMigrations, type Migration } from '../src/index.js';

describeEachDatabase('database layer', (database) => {
  it('parses int8, jsonb and timestamps the same way on both engines', async () => {
    const { rows } = await database().query<{ n: number; j: { a: number }; t: Date }>(
      `select 9007199254740::int8 as n, '{"a":1}'::jsonb as j, now() as t`,
    );
    expect(rows[0]).toMatchObject({ n: 9007199254740, j: { a: 1 } });
    expect(rows[0]!.t).toBeInstanceOf(Date);
  });

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    const db = database();
    await db.query('create table tx_probe (id int primary key)');
    await db.transaction(async (tx) => {
      await tx.query('insert into tx_probe values (1)');
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query('insert into tx_probe values (2)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await db.query<{ id: number }>('select id from tx_probe order by id');
    expect(rows.map((row) => row.id)).toEqual([1]);
  });

  it('records migrations and applies each once', async () => {
    const db = database();
    const again = await migrate(db);
    expect(again.applied).toEqual([]);
    const { rows } = await db.query<{ version: string }>('select version from public.latchkey_migrations order by version');
    expect(rows.map((row) => row.version)).toEqual((await readMigrations()).map((m) => m.version));
    const roles = await db.query<{ rolname: string }>(`select rolname from pg_roles where rolname in ('anon','authenticated','service_role') order by 1`);
    expect(roles.rows.map((row) => row.rolname)).toEqual(['anon', 'authenticated', 'service_role']);
  });

  it('rolls back a failing migration whole', async () => {
    const db = database();
    const broken: Migration[] = [
      { version: '9001', name: 'good', sql: 'create table migration_probe (id int);' },
      { version: '9002', name: 'bad', sql: 'select * from no_such_table;' },
    ];
    await expect(migrate(db, broken)).rejects.toBeInstanceOf(MigrationError);
    const { rows } = await db.query(`select 1 from pg_tables where tablename = 'migration_probe'`);
    expect(rows).toEqual([]);
  });
});

describe('embedded data directory', () => {
  it('refuses a second process and keeps data across reopen', async () => {
    const fs = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-db-'));
    const dataDir = path.join(dir, 'pgdata');
    const first = await openPgliteDatabase(dataDir);
    await first.query('create table kept (v text)');
    await first.query(`insert into kept values ('still here')`);
    // A live process holds the lock: simulate another holder by writing a foreign live pid.
    await first.close();
    await fs.writeFile(`${dataDir}.lock`, String(process.ppid));
    await expect(openPgliteDatabase(dataDir)).rejects.toMatchObject({ code: 'ERR_DATABASE_LOCKED' });
    await fs.rm(`${dataDir}.lock`);
    const second = await openPgliteDatabase(dataDir);
    const { rows } = await second.query<{ v: string }>('select v from kept');
    expect(rows).toEqual([{ v: 'still here' }]);
    await second.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
});
