import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { createPostgresDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { DatabaseUnavailableError, openPostgresDatabase, type Database } from '../../src/index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeWith(['DATABASE_URL'], 'a transaction whose connection is cut between two statements', () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let db: Database;
  let admin: pg.Client;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  beforeAll(async () => {
    database = await createPostgresDatabase();
    db = await openPostgresDatabase({ url: database.url, poolSize: 2 });
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    process.on('uncaughtException', onUncaught);
  });
  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    await admin?.end();
    await db?.close();
    await database?.drop();
  });

  it('fails with DatabaseUnavailableError instead of ending the process, and the pool serves again', async () => {
    // The server ends the backend while `work` awaits something that is not a statement (as when
    // PostgreSQL restarts under load): the driver reports it as an 'error' event on the checked-out client.
    const outcome = db.transaction(async (tx) => {
      const { rows } = await tx.query<{ pid: number }>('select pg_backend_pid() as pid');
      await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
      await sleep(300);
      await tx.query('select 1');
    });
    await expect(outcome).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await sleep(100);
    expect(uncaught).toEqual([]);
    // The broken client was dropped, not put back: every later statement works.
    for (let round = 0; round < 4; round += 1) {
      expect((await db.transaction((tx) => tx.query<{ one: number }>('select 1 as one'))).rows[0]!.one).toBe(1);
    }
  });
});
