import type { Command } from 'commander';
import type { ServeFlags } from '../commands/serve.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the identity service, example API and realtime gateway')
    .option('--host <host>', 'listen address (HOST)')
    .option('--port <port>', 'listen port (PORT)')
    .option('--database-url <url>', 'PostgreSQL URL, or memory:// (DATABASE_URL)')
    .option('--data-dir <dir>', 'folder for the embedded database, keys and admin socket (LATCHKEY_DATA_DIR)')
    .option('--tls-cert <file>', 'PEM certificate chain: serve HTTPS and WSS on the same port (LATCHKEY_TLS_CERT)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert (LATCHKEY_TLS_KEY)')
    .option('--gateway-config <file>', 'Centrifugo v6 JSON config for the realtime gateway (LATCHKEY_GATEWAY_CONFIG)')
    .action(async (flags: ServeFlags & { gatewayConfig?: string }) => {
      await (await import('../commands/serve.js')).runServe(flags);
    });
}
