import type { Command } from 'commander';
import type { runMigrate } from '../commands/migrate.js';
import { withDatabase } from './shared.js';

export function register(program: Command): void {
  withDatabase(program.command('migrate').description('apply pending database migrations'), 'print the report as JSON').action(async (flags: Parameters<typeof runMigrate>[0]) => {
    await (await import('../commands/migrate.js')).runMigrate(flags);
  });
}
