import type { Command } from 'commander';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('whoami').description('show the user the session belongs to and its current organization')).action(async (flags) => {
    await (await import('../commands/whoami.js')).runWhoami(flags);
  });
}
