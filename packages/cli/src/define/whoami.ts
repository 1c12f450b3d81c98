import type { Command } from 'commander';
import type { runWhoami } from '../commands/whoami.js';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('whoami').description('show the user the session belongs to and its current organization')).action(async (flags: Parameters<typeof runWhoami>[0]) => {
    await (await import('../commands/whoami.js')).runWhoami(flags);
  });
}
