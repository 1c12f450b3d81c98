import { loadServerConfig, migrate, openDatabase } from '@latchkey/server';

/** `latchkey migrate`: applies pending migrations and prints what was applied. */
export async function runMigrate(flags: { databaseUrl?: string; dataDir?: string; json?: boolean }): Promise<void> {
  const config = loadServerConfig(process.env, flags);
  const db = await openDatabase(config);
  try {
    const report = await migrate(db);
    if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else if (report.applied.length === 0) process.stdout.write('database is up to date\n');
    else process.stdout.write(`applied ${report.applied.join(', ')}\n`);
  } finally {
    await db.close();
  }
}
