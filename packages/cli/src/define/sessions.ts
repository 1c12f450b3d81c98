import type { Command } from 'commander';
import type { UserFlags } from '../commands/user-context.js';
import { withServerUrl } from './shared.js';

/** Adds `latchkey sessions [list]` and `latchkey sessions revoke ID`. */
export function register(program: Command): void {
  const sessions = program.command('sessions').description('list your sessions or end one (default: list)');
  withServerUrl(sessions.command('list', { isDefault: true }).description('list your live sessions; * marks this one')).action(async (flags: UserFlags) => {
    await (await import('../commands/sessions.js')).runSessionsList(flags);
  });
  withServerUrl(sessions.command('revoke').description('end one of your sessions'))
    .argument('<id>', 'session id, as listed')
    .action(async (id: string, flags: UserFlags) => {
      await (await import('../commands/sessions.js')).runSessionsRevoke(id, flags);
    });
}
