import type { Command } from 'commander';
import type { runStatus } from '../commands/status.js';
import { withDatabase } from './shared.js';

export function register(program: Command): void {
  withDatabase(program.command('status').description('show whether a server runs on this data directory, its URLs, data and keys'), 'print the status as JSON').action(
    async (flags: Parameters<typeof runStatus>[0]) => {
      await (await import('../commands/status.js')).runStatus(flags);
    },
  );
}
