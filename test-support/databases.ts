import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { migrate, openPgliteDatabase, openPostgresDatabase, type Database } from '@latchkey/server';
import { describeWith } from './integration.js';

/** The two engines every database test runs on. */
export type Engine = 'pglite' | 'postgres';
export const ENGINES: readonly Engine[] = ['pglite', 'postgres'];

/** A throw-away database: in-memory PGlite, or a fresh database on the `DATABASE_URL` server. */
export interface TestDatabase {
  readonly db: Database;
  /** `memory://` or the PostgreSQL URL of the fresh database. */
  readonly url: string;
  /** Closes the handle and drops the database. */
  dispose(): Promise<void>;
}

/** Creates an empty PostgreSQL database on the `DATABASE_URL` server and returns its URL. */
export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is not set');
  const name = `latchkey_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Opens a throw-away, migrated database on `engine`. */
export async function createTestDatabase(engine: Engine, options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  if (engine === 'pglite') {
    const db = await openPgliteDatabase(null);
    if (options.migrated !== false) await migrate(db);
    return { db, url: 'memory://', dispose: () => db.close() };
  }
  const created = await createPostgresDatabase();
  const db = await openPostgresDatabase({ url: created.url, poolSize: 20 });
  if (options.migrated !== false) await migrate(db);
  return {
    db,
    url: created.url,
    async dispose() {
      await db.close();
      await created.drop();
    },
  };
}

/**
 * Declares the suite once per engine: `[pglite]` always, `[postgres]` when `DATABASE_URL` is set
 * (reported skipped otherwise). `body` receives a getter for a fresh migrated database shared by the
 * suite's tests.
 *
 * @example
 * ```ts
 * describeEachDatabase('users', (database) => {
 *   it('stores a row', async () => { await database().query('select 1'); });
 * });
 * ```
 */
export function describeEachDatabase(title: string, body: (database: () => Database, engine: Engine) => void): void {
  for (const engine of ENGINES) {
    describeWith(engine === 'postgres' ? ['DATABASE_URL'] : [], `${title} [${engine}]`, () => {
      let current: TestDatabase | undefined;
      beforeAll(async () => {
        current = await createTestDatabase(engine);
      });
      afterAll(async () => {
        await current?.dispose();
      });
      body(() => {
        if (!current) throw new Error('database not ready');
        return current.db;
      }, engine);
    });
  }
}
