import { HttpError } from '@latchkey/client';
import { CliError, ExitCode } from '../exit-codes.js';
import { openUserContext, printJson, runUserCommand, type UserFlags } from './user-context.js';

/** A session as `GET /auth/v1/sessions` lists it. */
interface ListedSession {
  readonly id: string;
  readonly created_at: string;
  readonly refreshed_at: string | null;
  readonly user_agent: string | null;
  readonly ip: string | null;
  readonly aal: string;
  readonly current: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `latchkey sessions [list]`: the user's live sessions, the current one marked with `*`. */
export async function runSessionsList(flags: UserFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const { sessions } = await context.api.request<{ sessions: ListedSession[] }>('GET', '/auth/v1/sessions');
    if (flags.json) {
      printJson(sessions);
      return;
    }
    const lines = sessions.map((session) =>
      [
        session.current ? '*' : ' ',
        session.id,
        `created ${session.created_at}`,
        `refreshed ${session.refreshed_at ?? '-'}`,
        session.aal,
        session.ip ?? '-',
        session.user_agent ?? '-',
      ].join('  '),
    );
    process.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : 'No sessions\n');
  });
}

/** `latchkey sessions revoke ID`: ends one of the user's sessions (its tokens stop working everywhere). */
export async function runSessionsRevoke(id: string, flags: UserFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!UUID.test(id)) throw new CliError(`ID must be a session id (a UUID, as \`latchkey sessions\` lists them); got ${JSON.stringify(id)}`, ExitCode.Usage);
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    try {
      await context.api.request('DELETE', `/auth/v1/sessions/${id.toLowerCase()}`);
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) throw new CliError(`no session ${id} among yours`, ExitCode.Failure);
      throw error;
    }
    if (flags.json) printJson({ revoked: id.toLowerCase() });
    else process.stdout.write(`Session ${id.toLowerCase()} ended\n`);
  });
}
