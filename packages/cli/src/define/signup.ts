import type { Command } from 'commander';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('signup').description('create an account and keep its session (when the server confirms sign-ups at once)'))
    .option('--email <email>', 'e-mail address (prompted when absent; LATCHKEY_EMAIL)')
    .option('--password-stdin', 'read the password from the first line of stdin (else prompted, hidden; LATCHKEY_PASSWORD)')
    .action(async (flags) => {
      await (await import('../commands/signup.js')).runSignup(flags);
    });
}
