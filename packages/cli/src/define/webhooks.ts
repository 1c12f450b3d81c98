import type { Command } from 'commander';
import type { WebhooksFlags } from '../commands/webhooks.js';
import { withDatabase } from './shared.js';

function withAdminApi(command: Command): Command {
  return withDatabase(command)
    .option('--url <url>', 'server base URL (LATCHKEY_URL; default http://127.0.0.1:8000)')
    .option('--service-role-key <key>', 'service_role key (LATCHKEY_SERVICE_ROLE_KEY; default: the one of the server on this database)');
}

export function register(program: Command): void {
  const webhooks = program.command('webhooks').description('list, show and replay stored inbound webhook events');
  withAdminApi(webhooks.command('list').description('stored events, newest first'))
    .option('--endpoint <name>', 'only this endpoint (e.g. stripe)')
    .option('--limit <n>', 'at most this many (default 50)')
    .option('--before <id>', 'only events with a smaller id (paging)')
    .action(async (flags: WebhooksFlags) => {
      await (await import('../commands/webhooks.js')).runWebhooksList(flags);
    });
  withAdminApi(webhooks.command('show <id>').description('one event with its headers and body')).action(async (id: string, flags: WebhooksFlags) => {
    await (await import('../commands/webhooks.js')).runWebhooksShow(id, flags);
  });
  withAdminApi(webhooks.command('replay <id>').description('deliver the event again to its channel and forward URL')).action(async (id: string, flags: WebhooksFlags) => {
    await (await import('../commands/webhooks.js')).runWebhooksReplay(id, flags);
  });
}
