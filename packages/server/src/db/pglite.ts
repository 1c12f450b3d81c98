import fs from 'node:fs/promises';
import path from 'node:path';
import { PGlite, types as pgliteTypes, type Transaction } from '@electric-sql/pglite';
import { DatabaseLockedError, DatabaseUnavailableError } from './errors.js';
import { pgliteTemplate } from './pglite-template.js';
import type { Database, QueryResult, Row, TransactionHandle } from './types.js';

const INT8_OID = pgliteTypes.INT8;

function wrap<R extends Row>(result: { rows: R[]; affectedRows?: number }): QueryResult<R> {
  return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes an exclusive lock on a data directory (a `postmaster.pid`-like file holding our pid). Two
 * processes writing one PGlite directory would corrupt it; a lock left by a dead process is taken over.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockFile = `${dataDir}.lock`;
  await fs.mkdir(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await fs.writeFile(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
      return async () => {
        await fs.rm(lockFile, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await fs.readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isPidAlive(holder)) {
        throw new DatabaseLockedError(`the data directory ${dataDir} is in use by process ${holder}; stop it or set LATCHKEY_DATA_DIR`);
      }
      await fs.rm(lockFile, { force: true });
    }
  }
  throw new DatabaseLockedError(`could not lock the data directory ${dataDir}`);
}

async function isInitialised(dataDir: string): Promise<boolean> {
  try {
    await fs.access(path.join(dataDir, 'PG_VERSION'));
    return true;
  } catch {
    return false;
  }
}

class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly #db: PGlite;
  readonly #unlock: (() => Promise<void>) | null;
  #closed = false;

  constructor(db: PGlite, unlock: (() => Promise<void>) | null) {
    this.#db = db;
    this.#unlock = unlock;
  }

  async query<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    return wrap(await this.#db.query<R>(text, params as unknown[]));
  }

  transaction<T>(work: (tx: TransactionHandle) => Promise<T>): Promise<T> {
    return this.#db.transaction(async (tx: Transaction) =>
      work({
        async query<R extends Row = Row>(text: string, params: readonly unknown[] = []) {
          return wrap(await tx.query<R>(text, params as unknown[]));
        },
        async execScript(sql: string) {
          await tx.exec(sql);
        },
      }),
    );
  }

  async execScript(sql: string): Promise<void> {
    await this.#db.exec(sql);
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new DatabaseUnavailableError('the embedded database is closed');
    await this.#db.query('select 1');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.close();
    await this.#unlock?.();
  }
}

/**
 * Opens embedded PostgreSQL (PGlite). `dataDir` null keeps everything in memory (tests, demos).
 * A directory is created and initialised on first use and locked against a second process.
 */
export async function openPgliteDatabase(dataDir: string | null): Promise<Database> {
  const parsers = { [INT8_OID]: (value: string) => Number(value) };
  if (dataDir === null) {
    const template = await pgliteTemplate();
    const db = await PGlite.create('memory://', { parsers, ...(template ? { loadDataDir: template } : {}) });
    return new PgliteDatabase(db, null);
  }
  const unlock = await lockDataDir(dataDir);
  try {
    const fresh = !(await isInitialised(dataDir));
    const template = fresh ? await pgliteTemplate() : null;
    if (fresh) await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
    const db = await PGlite.create(dataDir, { parsers, ...(template ? { loadDataDir: template } : {}) });
    return new PgliteDatabase(db, unlock);
  } catch (error) {
    await unlock();
    throw error;
  }
}
