import { clientJson, createOAuthClient, createRevocationRecorder, deleteOAuthClient, listOAuthClients, loadAccessTokenLifetime } from '@latchkey/server';
import type { Command } from 'commander';
import { withServerDatabase } from './database.js';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * `latchkey clients create|list|delete`: OAuth clients for the client credentials grant. Like
 * `latchkey keys`, these work on the database directly (`DATABASE_URL` / `--database-url`, or the
 * embedded database in `LATCHKEY_DATA_DIR`), so they need no running server and no service_role key;
 * a running server sees the change at once. The admin API (`/auth/v1/admin/oauth/clients`) does the same
 * over HTTP.
 */
export interface ClientsFlags {
  readonly databaseUrl?: string;
  readonly dataDir?: string;
  readonly json?: boolean;
}

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
  const created = await withServerDatabase(flags, async (db) => {
    try {
      return await createOAuthClient(db, { name, scopes, organizationId: flags.organization?.toLowerCase() ?? null });
    } catch (error) {
      if ((error as { code?: string }).code === '23503') throw new CliError(`organization ${flags.organization} does not exist`, ExitCode.Usage);
      throw error;
    }
  });
  const json = clientJson(created.row, created.secret);
  print(
    flags,
    json,
    `client_id      ${json.client_id}\nclient_secret  ${created.secret}\nname           ${json.client_name}\nscopes         ${json.scopes.join(' ') || '(none)'}\n` +
      `organization   ${json.organization_id ?? '(none)'}\n\nThe secret is shown only now; store it safely.\n`,
  );
}

export async function runClientsList(flags: ClientsFlags): Promise<void> {
  const rows = await withServerDatabase(flags, (db) => listOAuthClients(db));
  const clients = rows.map((row) => clientJson(row));
  const lines = clients.map((client) => `${client.client_id}  ${client.client_name}  [${client.scopes.join(' ')}]${client.organization_id ? `  org ${client.organization_id}` : ''}\n`);
  print(flags, { clients }, lines.join('') || 'no clients\n');
}

export async function runClientsDelete(id: string, flags: ClientsFlags): Promise<void> {
  // Serving nodes pick the revocation event up from the database.
  const revocations = createRevocationRecorder({ tokenLifetime: loadAccessTokenLifetime(process.env) });
  const row = await withServerDatabase(flags, (db) => deleteOAuthClient(db, id, revocations));
  if (!row) throw new CliError(`no client ${id}`, ExitCode.Failure);
  print(flags, clientJson(row), `deleted ${row.id} (${row.name})\n`);
}

/** Adds `clients create|list|delete` to the program. */
export function registerClientsCommands(program: Command): void {
  const clients = program.command('clients').description('manage OAuth clients for the client credentials grant');
  const common = (command: Command) =>
    command
      .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
      .option('--data-dir <dir>', 'folder for the embedded database (LATCHKEY_DATA_DIR)')
      .option('--json', 'print the result as JSON');
  common(
    clients
      .command('create')
      .description('register a client; prints its id and secret (the secret only this once)')
      .requiredOption('--name <name>', 'a name for people')
      .option('--scope <scopes>', 'scopes the client may request, space- or comma-separated')
      .option('--organization <id>', 'organization the client acts for (put in its tokens)'),
  ).action(async (flags: CreateClientFlags) => {
    await runClientsCreate(flags);
  });
  common(clients.command('list').description('list the clients')).action(async (flags: ClientsFlags) => {
    await runClientsList(flags);
  });
  common(clients.command('delete <client_id>').description('delete a client; tokens it already has expire as usual')).action(async (id: string, flags: ClientsFlags) => {
    await runClientsDelete(id, flags);
  });
}
