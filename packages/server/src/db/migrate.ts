import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError } from './errors.js';
import type { Database } from './types.js';

/** One ordered SQL migration. */
export interface Migration {
  /** Sort key and identity, e.g. `0001`. */
  readonly version: string;
  readonly name: string;
  readonly sql: string;
}

/** What a migration run did. */
export interface MigrationReport {
  readonly applied: readonly string[];
  readonly alreadyApplied: number;
}

/** The folder holding this package's `NNNN_name.sql` files. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Arbitrary constant shared by every Latchkey process: the advisory lock serialising migration runs. */
const MIGRATION_LOCK_KEY = 7_362_114_020;

/** Reads `NNNN_name.sql` files from a folder, sorted by version. */
export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!match) throw new MigrationError(`migration file ${file} does not match NNNN_name.sql`);
    migrations.push({ version: match[1]!, name: match[2]!, sql: await fs.readFile(path.join(dir, file), 'utf8') });
  }
  const seen = new Set<string>();
  for (const migration of migrations) {
    if (seen.has(migration.version)) throw new MigrationError(`two migrations share version ${migration.version}`);
    seen.add(migration.version);
  }
  return migrations;
}

/**
 * Applies every pending migration in one transaction under an advisory lock, so processes that start
 * together wait for each other and each migration runs exactly once. A failing migration rolls back
 * the whole run.
 */
export async function migrate(db: Database, migrations?: readonly Migration[]): Promise<MigrationReport> {
  const list = migrations ?? (await readMigrations());
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.query(
      `create table if not exists public.latchkey_migrations (
         version text primary key,
         name text not null,
         applied_at timestamptz not null default now()
       )`,
    );
    const { rows } = await tx.query<{ version: string }>('select version from public.latchkey_migrations');
    const done = new Set(rows.map((row) => row.version));
    const applied: string[] = [];
    for (const migration of list) {
      if (done.has(migration.version)) continue;
      try {
        await tx.execScript(migration.sql);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new MigrationError(`migration ${migration.version}_${migration.name} failed: ${reason}`, { cause: error });
      }
      await tx.query('insert into public.latchkey_migrations (version, name) values ($1, $2)', [migration.version, migration.name]);
      applied.push(`${migration.version}_${migration.name}`);
    }
    return { applied, alreadyApplied: done.size };
  });
}
