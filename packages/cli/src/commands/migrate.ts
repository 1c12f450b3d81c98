import { runAdmin, type DatabaseFlags } from '../admin/target.js';

/**
 * `latchkey migrate`: applies pending migrations and prints what was applied — through a running server
 * on this data directory (which applied them at its start), else on the database directly. Safe while
 * other processes start: migration runs queue on an advisory lock.
 */
export async function runMigrate(flags: DatabaseFlags): Promise<void> {
  const report = await runAdmin(flags, true, (admin) => admin.migrate());
  if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else if (report.applied.length === 0) process.stdout.write('database is up to date\n');
  else process.stdout.write(`applied ${report.applied.join(', ')}\n`);
}
