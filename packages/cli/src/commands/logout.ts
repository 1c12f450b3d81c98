import type { LogoutScope } from '@latchkey/client';
import { CliError, ExitCode } from '../exit-codes.js';
import { openUserContext, printJson, runUserCommand, type UserFlags } from './user-context.js';

/** `latchkey logout`: revokes the session on the server (best effort) and deletes the session file. */
export async function runLogout(flags: UserFlags & { scope?: string }, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const scope = (flags.scope ?? 'local') as LogoutScope;
  if (!['local', 'global', 'others'].includes(scope)) throw new CliError('--scope must be local, global or others', ExitCode.Usage);
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const had = (await context.store.load()) !== null;
    await context.api.auth.logout({ scope });
    if (flags.json) printJson({ logged_out: had, scope });
    else process.stdout.write(had ? 'Logged out\n' : 'Not logged in\n');
  });
}
