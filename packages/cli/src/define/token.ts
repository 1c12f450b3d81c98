import type { Command } from 'commander';
import type { runToken } from '../commands/token.js';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('token').description('print a valid access token, refreshing it if needed')).action(async (flags: Parameters<typeof runToken>[0]) => {
    await (await import('../commands/token.js')).runToken(flags);
  });
}
