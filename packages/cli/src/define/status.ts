import type { Command } from 'commander';
import { withDatabase } from './shared.js';

export function register(program: Command): void {
  withDatabase(program.command('status').description('show whether a server runs on this data directory, its URLs, data and keys'), 'print the status as JSON').action(
    async (flags) => {
      await (await import('../commands/status.js')).runStatus(flags);
    },
  );
}
