import type { Command } from 'commander';
import { withDatabase } from './shared.js';

export function register(program: Command): void {
  withDatabase(program.command('migrate').description('apply pending database migrations'), 'print the report as JSON').action(async (flags) => {
    await (await import('../commands/migrate.js')).runMigrate(flags);
  });
}
