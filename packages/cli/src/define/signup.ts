import type { Command } from 'commander';
import type { runSignup } from '../commands/signup.js';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('signup').description('create an account and keep its session (when the server confirms sign-ups at once)'))
    .option('--email <email>', 'e-mail address (prompted when absent; LATCHKEY_EMAIL)')
    .option('--password-stdin', 'read the password from the first line of stdin (else prompted, hidden; LATCHKEY_PASSWORD)')
    .action(async (flags: Parameters<typeof runSignup>[0]) => {
      await (await import('../commands/signup.js')).runSignup(flags);
    });
}
