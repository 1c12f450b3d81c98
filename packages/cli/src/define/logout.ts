import type { Command } from 'commander';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('logout').description('end the session on the server and delete it locally'))
    .option('--scope <scope>', 'local (this session), global (all sessions) or others', 'local')
    .action(async (flags) => {
      await (await import('../commands/logout.js')).runLogout(flags);
    });
}
