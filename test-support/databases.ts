import { afterAll, beforeAll } from 'vitest';
import { migrate, openPgliteDatabase, openPostgresDatabase, type Database } from '@latchkey/server';
import { describeWith } from './integration.js';
import { createPostgresDatabase } from './postgres.js';

export { createPostgresDatabase } from './postgres.js';

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
