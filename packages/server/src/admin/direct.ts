import type { Environment, ServerConfig } from '../config/index.js';
import { embeddedDatabaseExists } from '../db/data-dir.js';
import { openDatabase } from '../db/index.js';
import { loadIdentitySettings } from '../identity/settings.js';
import { databaseOperations, type AdminOperations } from './operations.js';
import { AdminError } from './protocol.js';

/**
 * Opens the configured database, runs `work` with its admin operations, and closes it — for when no
 * running server holds the database. With `write: false` an embedded data directory that does not exist
 * yet is `no_database` (nothing is created). An embedded directory held by a running server throws the
 * database layer's `ERR_DATABASE_LOCKED`.
 */
export async function withDatabaseOperations<T>(
  config: ServerConfig,
  env: Environment,
  options: { readonly write: boolean },
  work: (operations: AdminOperations) => Promise<T>,
): Promise<T> {
  const settings = loadIdentitySettings(env);
  const target = config.database;
  if (!options.write && target.kind === 'pglite' && target.dataDir !== null && !(await embeddedDatabaseExists(target.dataDir))) {
    throw new AdminError('no_database', `no database in ${target.dataDir} yet: start the server once (\`latchkey serve\`)`);
  }
  const db = await openDatabase(config);
  try {
    return await work(databaseOperations(db, settings));
  } finally {
    await db.close();
  }
}
