import type { Command } from 'commander';
import type { runLogout } from '../commands/logout.js';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('logout').description('end the session on the server and delete it locally'))
    .option('--scope <scope>', 'local (this session), global (all sessions) or others', 'local')
    .action(async (flags: Parameters<typeof runLogout>[0]) => {
      await (await import('../commands/logout.js')).runLogout(flags);
    });
}
