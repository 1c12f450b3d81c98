import type { ServerConfig } from '../config/index.js';
import type { PostgresOptions } from './postgres.js';
import type { Database } from './types.js';

/**
 * Opens embedded PostgreSQL (PGlite). `dataDir` null keeps everything in memory (tests, demos).
 * A directory is created on first use from a cached template and locked against a second process.
 * PGlite's module is loaded on the first call, so a server on PostgreSQL never loads it.
 */
export async function openPgliteDatabase(dataDir: string | null): Promise<Database> {
  return (await import('./pglite.js')).openPgliteDatabase(dataDir);
}

/** Opens a pool on a PostgreSQL server (the `pg` driver is loaded on the first call). */
export async function openPostgresDatabase(options: PostgresOptions): Promise<Database> {
  return (await import('./postgres.js')).openPostgresDatabase(options);
}

/** Opens the database the configuration names: PGlite by default, PostgreSQL with `DATABASE_URL`. */
export function openDatabase(config: Pick<ServerConfig, 'database' | 'databasePoolSize' | 'databaseConnectTimeout'>): Promise<Database> {
  const target = config.database;
  if (target.kind === 'pglite') return openPgliteDatabase(target.dataDir);
  return openPostgresDatabase({ url: target.url, poolSize: config.databasePoolSize, connectTimeout: config.databaseConnectTimeout });
}
