import type { Command } from 'commander';
import type { ServeFlags } from '../commands/serve.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the identity service, realtime gateway, demo app and admin console (and, with --example, the example API)')
    .option('--host <host>', 'listen address (HOST)')
    .option('--port <port>', 'listen port (PORT)')
    .option('--database-url <url>', 'PostgreSQL URL, or memory:// (DATABASE_URL)')
    .option('--data-dir <dir>', 'folder for the embedded database, keys and admin socket (LATCHKEY_DATA_DIR)')
    .option('--tls-cert <file>', 'PEM certificate chain: serve HTTPS and WSS on the same port (LATCHKEY_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert (LATCHKEY_TLS_KEY)')
    .option('--gateway-config <file>', 'Centrifugo v6 JSON config for the realtime gateway (LATCHKEY_GATEWAY_CONFIG)')
    .option('--example', 'also mount the example notes API (examples/notes-api) at /api/v1, with its table')
    .action(async (flags: ServeFlags & { gatewayConfig?: string; example?: boolean }) => {
      await (await import('../commands/serve.js')).runServe(flags);
    });
}
