import type { ClientJson } from '@latchkey/server';
import { runAdmin, type DatabaseFlags } from '../admin/target.js';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * `latchkey clients create|list|delete`: OAuth clients for the client credentials grant, through the
 * running server's admin socket or on the database directly (no service_role key needed). The admin API
 * (`/auth/v1/admin/oauth/clients`) does the same over HTTP.
 */
export type ClientsFlags = DatabaseFlags;

export interface CreateClientFlags extends ClientsFlags {
  readonly name: string;
  readonly scope?: string;
  readonly organization?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function print(flags: ClientsFlags, json: unknown, text: string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(json)}\n` : text);
}

export async function runClientsCreate(flags: CreateClientFlags): Promise<void> {
  const name = flags.name.trim();
  if (name === '' || name.length > 200) throw new CliError('--name must be 1 to 200 characters', ExitCode.Usage);
  const scopes = (flags.scope ?? '').split(/[\s,]+/).filter((scope) => scope !== '');
  const bad = scopes.find((scope) => !SCOPE.test(scope));
  if (bad !== undefined) throw new CliError(`--scope: ${JSON.stringify(bad)} is not a valid scope`, ExitCode.Usage);
  if (flags.organization !== undefined && !UUID.test(flags.organization)) throw new CliError('--organization must be an organization id (UUID)', ExitCode.Usage);
  const created = await runAdmin(flags, true, (admin) =>
    admin.createClient({ client_name: name, scopes, organization_id: flags.organization?.toLowerCase() ?? null }),
  );
  print(
    flags,
    created,
    `client_id      ${created.client_id}\nclient_secret  ${created.client_secret}\nname           ${created.client_name}\nscopes         ${created.scopes.join(' ') || '(none)'}\n` +
      `organization   ${created.organization_id ?? '(none)'}\n\nThe secret is shown only now; store it safely.\n`,
  );
}

export async function runClientsList(flags: ClientsFlags): Promise<void> {
  const { clients } = await runAdmin(flags, false, (admin) => admin.listClients());
  const line = (client: ClientJson) => `${client.client_id}  ${client.client_name}  [${client.scopes.join(' ')}]${client.organization_id ? `  org ${client.organization_id}` : ''}\n`;
  print(flags, { clients }, clients.map(line).join('') || 'no clients\n');
}

export async function runClientsDelete(id: string, flags: ClientsFlags): Promise<void> {
  const deleted = await runAdmin(flags, true, (admin) => admin.deleteClient(id));
  print(flags, deleted, `deleted ${deleted.client_id} (${deleted.client_name})\n`);
}
