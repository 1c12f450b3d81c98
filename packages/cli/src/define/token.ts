import type { Command } from 'commander';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('token').description('print a valid access token, refreshing it if needed')).action(async (flags) => {
    await (await import('../commands/token.js')).runToken(flags);
  });
}
