import type { LogoutScope } from '@latchkey/client';
import { CliError, ExitCode } from '../exit-codes.js';
import { openUserContext, printJson, runUserCommand, type UserFlags } from './user-context.js';

/** Whether a failure means the server could not be reached at all. */
function unreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (error instanceof TypeError && /fetch failed/.test(error.message)) || error.name === 'TokenEndpointUnavailableError';
}

/**
 * `latchkey logout`: ends the session on the server and deletes the session file. When the server
 * cannot be reached the local session is deleted all the same and the command says so: exit 0 for the
 * default `local` scope (this machine is logged out), 1 for `global` and `others`, whose sessions elsewhere
 * were not ended.
 */
export async function runLogout(flags: UserFlags & { scope?: string }, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const scope = (flags.scope ?? 'local') as LogoutScope;
  if (!['local', 'global', 'others'].includes(scope)) throw new CliError('--scope must be local, global or others', ExitCode.Usage);
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const had = (await context.store.load()) !== null;
    let reached = true;
    try {
      await context.api.auth.logout({ scope });
    } catch (error) {
      if (!unreachable(error)) throw error;
      reached = false;
      if (scope !== 'others') await context.api.tokens.clear();
    }
    if (flags.json) printJson({ logged_out: had && scope !== 'others', scope, server_reached: reached });
    else if (!had) process.stdout.write('Not logged in\n');
    else if (reached) process.stdout.write('Logged out\n');
    else {
      const what = scope === 'others' ? 'Nothing changed' : 'Removed the local session';
      process.stdout.write(`${what}; ${context.url} could not be reached, so the session was not ended on the server\n`);
    }
    if (!reached && had && scope !== 'local') process.exitCode = ExitCode.Failure;
  });
}
