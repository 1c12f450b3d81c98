import fs from 'node:fs/promises';
import path from 'node:path';
import v8 from 'node:v8';
import { PGlite, types as pgliteTypes, type Transaction } from '@electric-sql/pglite';
import { embeddedDatabaseExists } from './data-dir.js';
import { DatabaseLockedError, DatabaseUnavailableError } from './errors.js';
import { migrate, readMigrations } from './migrate.js';
import { copyTemplateDir, migratedTemplate, migratedTemplateDir, pgliteTemplate } from './pglite-template.js';
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
 * PGlite is PostgreSQL compiled to WebAssembly. By default V8 re-compiles with its optimising compiler
 * every function that has run a little (a budget of about 1.8 MB of executed code), and PostgreSQL's
 * start-up runs enough code to send hundreds of functions there: about 0.7 s of CPU and 30 MB before the
 * first query. A budget a hundred times larger leaves start-up on the baseline compiler while the hot paths
 * of real work are still optimised. Set once, when this module (loaded only for the embedded database)
 * is first imported, before PGlite's module is compiled.
 */
v8.setFlagsFromString('--wasm-tiering-budget=200000000');

/**
 * Options of every PGlite instance: `int8` as numbers, and 16 MB of shared buffers instead of
 * PostgreSQL's 128 MB. PostgreSQL initialises its whole buffer pool at start, so inside WebAssembly the
 * default costs about 110 MB of resident memory that a single-process development database never needs.
 */
const PGLITE_OPTIONS = {
  parsers: { [INT8_OID]: (value: string) => Number(value) },
  postgresqlconf: ['shared_buffers = 16MB'],
};

/**
 * The fastest starting point for a new data directory: the template with the current migrations
 * applied, else the empty initialised one, else none (PGlite runs initdb).
 */
async function startingPoint(): Promise<Blob | null> {
  try {
    const migrations = await readMigrations();
    const migrated = await migratedTemplate(migrations, async (base) => {
      const scratch = await PGlite.create('memory://', { ...PGLITE_OPTIONS, ...(base ? { loadDataDir: base } : {}) });
      try {
        await migrate(new PgliteDatabase(scratch, null), migrations);
        return await scratch.dumpDataDir('gzip');
      } finally {
        await scratch.close();
      }
    });
    if (migrated) return migrated;
  } catch {
    // fall back to the empty template
  }
  return pgliteTemplate();
}

/**
 * Fills a new data directory with a copy of the migrated template directory (made on first use).
 * Returns false when no template directory can be had.
 */
async function copyFromTemplateDir(dataDir: string): Promise<boolean> {
  try {
    const migrations = await readMigrations();
    const template = await migratedTemplateDir(migrations, async (dir) => {
      const base = await startingPoint();
      const scratch = await PGlite.create(dir, { ...PGLITE_OPTIONS, ...(base ? { loadDataDir: base } : {}) });
      try {
        await migrate(new PgliteDatabase(scratch, null), migrations);
      } finally {
        await scratch.close();
      }
    });
    if (!template) return false;
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.mkdir(path.dirname(dataDir), { recursive: true, mode: 0o700 });
    await copyTemplateDir(template, dataDir);
    await fs.chmod(dataDir, 0o700);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens embedded PostgreSQL (PGlite). `dataDir` null keeps everything in memory (tests, demos).
 * A directory is created on first use from a cached template and locked against a second process.
 */
export async function openPgliteDatabase(dataDir: string | null): Promise<Database> {
  if (dataDir === null) {
    const template = await startingPoint();
    const db = await PGlite.create('memory://', { ...PGLITE_OPTIONS, ...(template ? { loadDataDir: template } : {}) });
    return new PgliteDatabase(db, null);
  }
  const unlock = await lockDataDir(dataDir);
  try {
    let template: Blob | null = null;
    if (!(await embeddedDatabaseExists(dataDir))) {
      const copied = await copyFromTemplateDir(dataDir);
      if (!copied) {
        template = await startingPoint();
        await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
      }
    }
    const db = await PGlite.create(dataDir, { ...PGLITE_OPTIONS, ...(template ? { loadDataDir: template } : {}) });
    return new PgliteDatabase(db, unlock);
  } catch (error) {
    await unlock();
    throw error;
  }
}
