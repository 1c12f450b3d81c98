import { openUserContext, printJson, runUserCommand, type UserFlags } from './user-context.js';

/** `latchkey whoami`: asks the identity service who the session belongs to (`GET /auth/v1/user`). */
export async function runWhoami(flags: UserFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const user = await context.api.auth.user();
    if (flags.json) {
      printJson(user);
      return;
    }
    const organization = (user.app_metadata as { organization_id?: string } | undefined)?.organization_id;
    const lines = [`${user.email || user.phone || user.id}`, `  id    ${user.id}`];
    if (user.role) lines.push(`  role  ${user.role}`);
    if (organization) lines.push(`  org   ${organization}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
