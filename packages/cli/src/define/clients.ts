import type { Command } from 'commander';
import type { ClientsFlags, CreateClientFlags } from '../commands/clients.js';
import { withDatabase } from './shared.js';

export function register(program: Command): void {
  const clients = program.command('clients').description('manage OAuth clients for the client credentials grant');
  withDatabase(
    clients
      .command('create')
      .description('register a client; prints its id and secret (the secret only this once)')
      .requiredOption('--name <name>', 'a name for people')
      .option('--scope <scopes>', 'scopes the client may request, space- or comma-separated')
      .option('--organization <id>', 'organization the client acts for (put in its tokens)'),
  ).action(async (flags: CreateClientFlags) => {
    await (await import('../commands/clients.js')).runClientsCreate(flags);
  });
  withDatabase(clients.command('list').description('list the clients')).action(async (flags: ClientsFlags) => {
    await (await import('../commands/clients.js')).runClientsList(flags);
  });
  withDatabase(clients.command('delete <client_id>').description('delete a client; tokens it already has expire as usual')).action(
    async (id: string, flags: ClientsFlags) => {
      await (await import('../commands/clients.js')).runClientsDelete(id, flags);
    },
  );
}
