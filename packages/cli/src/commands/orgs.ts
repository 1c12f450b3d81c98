import { processTokenResponse } from '@latchkey/client';
import { CliError, ExitCode } from '../exit-codes.js';
import { openUserContext, printJson, runUserCommand, type UserContext, type UserFlags } from './user-context.js';

/** An organization as `GET /auth/v1/organizations` lists it for a user. */
export interface Organization {
  readonly id: string;
  readonly name: string;
  readonly created_at: string;
  readonly role?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The organization the session's access token acts for (`app_metadata.organization_id`, `org_role`). */
export async function currentOrganization(context: UserContext): Promise<{ id: string; role: string | null } | null> {
  const tokens = await context.api.tokens.getTokens();
  const payload = tokens.accessToken.split('.')[1];
  if (payload === undefined) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { app_metadata?: { organization_id?: unknown; org_role?: unknown } };
    const id = claims.app_metadata?.organization_id;
    const role = claims.app_metadata?.org_role;
    return typeof id === 'string' ? { id, role: typeof role === 'string' ? role : null } : null;
  } catch {
    return null;
  }
}

/** The caller's organizations. */
export function listOrganizations(context: UserContext): Promise<Organization[]> {
  return context.api.request<Organization[]>('GET', '/auth/v1/organizations');
}

/** `latchkey orgs list`: the organizations the user belongs to, with the role; `*` marks the current one. */
export async function runOrgsList(flags: UserFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const [organizations, current] = await Promise.all([listOrganizations(context), currentOrganization(context)]);
    if (flags.json) {
      printJson({ organizations: organizations.map((org) => ({ ...org, current: org.id === current?.id })) });
      return;
    }
    if (organizations.length === 0) {
      process.stdout.write('no organizations; create one with `latchkey orgs create NAME`\n');
      return;
    }
    for (const org of organizations) {
      process.stdout.write(`${org.id === current?.id ? '*' : ' '} ${org.id}  ${org.name}${org.role ? `  (${org.role})` : ''}\n`);
    }
  });
}

/** `latchkey orgs create NAME`: creates an organization with the user as owner. */
export async function runOrgsCreate(name: string, flags: UserFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (name.trim() === '' || name.length > 200) throw new CliError('the name must be 1 to 200 characters', ExitCode.Usage);
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const created = await context.api.request<Organization>('POST', '/auth/v1/organizations', { name });
    if (flags.json) printJson(created);
    else process.stdout.write(`created ${created.id}  ${created.name}\nmake it current with: latchkey orgs switch ${created.id}\n`);
  });
}

/**
 * `latchkey orgs switch ID`: asks for a session acting for that organization
 * (`POST /auth/v1/organizations/{id}/switch`) and stores it in place of the current one.
 */
export async function runOrgsSwitch(id: string, flags: UserFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!UUID.test(id)) throw new CliError('the organization id must be a UUID (see `latchkey orgs list`)', ExitCode.Usage);
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const requestedAt = Date.now();
    const body = await context.api.request<unknown>('POST', `/auth/v1/organizations/${id.toLowerCase()}/switch`);
    const tokens = await processTokenResponse(Response.json(body), requestedAt);
    await context.api.tokens.setTokens(tokens);
    const current = await currentOrganization(context);
    if (flags.json) printJson({ organization_id: current?.id ?? null, org_role: current?.role ?? null });
    else process.stdout.write(`switched to ${current?.id ?? id}${current?.role ? ` (${current.role})` : ''}; the session now acts for it\n`);
  });
}
