import type { ServerConfig } from '../config/index.js';
import { openPgliteDatabase } from './pglite.js';
import { openPostgresDatabase } from './postgres.js';
import type { Database } from './types.js';

/** Opens the database the configuration names: PGlite by default, PostgreSQL with `DATABASE_URL`. */
export function openDatabase(config: Pick<ServerConfig, 'database' | 'databasePoolSize' | 'databaseConnectTimeout'>): Promise<Database> {
  const target = config.database;
  if (target.kind === 'pglite') return openPgliteDatabase(target.dataDir);
  return openPostgresDatabase({ url: target.url, poolSize: config.databasePoolSize, connectTimeout: config.databaseConnectTimeout });
}
