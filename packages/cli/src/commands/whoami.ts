import { currentOrganization, listOrganizations } from './orgs.js';
import { openUserContext, printJson, runUserCommand, type UserFlags } from './user-context.js';

/**
 * `latchkey whoami`: asks the identity service who the session belongs to (`GET /auth/v1/user`) and
 * shows the organization the session acts for (from its token) with its name and the user's role.
 */
export async function runWhoami(flags: UserFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const user = await context.api.auth.user();
    const current = await currentOrganization(context);
    const name = current ? ((await listOrganizations(context).catch(() => [])).find((org) => org.id === current.id)?.name ?? null) : null;
    const organization = current ? { id: current.id, name, role: current.role } : null;
    if (flags.json) {
      printJson({ ...user, organization });
      return;
    }
    const lines = [`${user.email || user.phone || user.id}`, `  id    ${user.id}`];
    if (user.role) lines.push(`  role  ${user.role}`);
    lines.push(`  org   ${organization ? `${organization.name ?? '(unnamed)'} ${organization.id}${organization.role ? ` (${organization.role})` : ''}` : '(none)'}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}
