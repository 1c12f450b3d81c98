import { defaultServices } from '@latchkey/server';
import type { Command } from 'commander';
import { registerClientsCommands } from './commands/clients.js';
import { registerKeysCommands } from './commands/keys.js';
import { registerMailCommands } from './commands/mail.js';
import { runMigrate } from './commands/migrate.js';
import { serve } from './commands/serve.js';

/**
 * Commands that run the server or open its database. They load the whole server package, so the
 * program loads this module only when one of them (or the full help) is asked for.
 */
export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .description('run the identity service, example API and realtime gateway')
    .option('--host <host>', 'listen address (HOST)')
    .option('--port <port>', 'listen port (PORT)')
    .option('--database-url <url>', 'PostgreSQL URL, or memory:// (DATABASE_URL)')
    .option('--data-dir <dir>', 'folder for the embedded database and keys (LATCHKEY_DATA_DIR)')
    .option('--gateway-config <file>', 'Centrifugo v6 JSON config for the realtime gateway (LATCHKEY_GATEWAY_CONFIG)')
    .action(async (flags: { host?: string; port?: string; databaseUrl?: string; dataDir?: string; gatewayConfig?: string }) => {
      const { gatewayConfig, ...serverFlags } = flags;
      await serve(serverFlags, gatewayConfig ? { services: defaultServices({ gatewayConfig }) } : {});
    });

  program
    .command('migrate')
    .description('apply pending database migrations')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'folder for the embedded database (LATCHKEY_DATA_DIR)')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { databaseUrl?: string; dataDir?: string; json?: boolean }) => {
      await runMigrate(flags);
    });

  registerKeysCommands(program);
  registerClientsCommands(program);
  registerMailCommands(program);
}
