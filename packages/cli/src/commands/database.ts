import { loadServerConfig, migrate, openDatabase, type Database, type ServerFlags } from '@latchkey/server';

/**
 * Opens the database the server would use (same settings and flags), brings it up to date, runs
 * `work`, and closes it. For commands that act on the server's data directly (`keys`, `clients`,
 * `mail`): with the embedded database the server must be stopped, since it holds the data directory.
 */
export async function withServerDatabase<T>(flags: ServerFlags, work: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(loadServerConfig(process.env, flags));
  try {
    await migrate(db);
    return await work(db);
  } finally {
    await db.close();
  }
}
