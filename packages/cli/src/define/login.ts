import type { Command } from 'commander';
import type { runLogin } from '../commands/login.js';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('login').description('log in and keep the session for later commands'))
    .option('--email <email>', 'e-mail address (prompted when absent)')
    .option('--password <password>', 'password (prompted, hidden, when absent; LATCHKEY_PASSWORD)')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--totp <code>', 'current TOTP code, for accounts with two-factor authentication')
    .option('--via-socket', 'obtain the tokens over the realtime gateway (auth.login RPC) instead of HTTP')
    .option('--client-id <id>', 'log in as an OAuth client (client credentials)')
    .option('--client-secret <secret>', 'the client secret (LATCHKEY_CLIENT_SECRET)')
    .action(async (flags: Parameters<typeof runLogin>[0]) => {
      await (await import('../commands/login.js')).runLogin(flags);
    });
}
