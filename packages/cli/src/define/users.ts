import type { Command } from 'commander';
import type { CreateUserFlags } from '../commands/users.js';
import { withDatabase } from './shared.js';

export function register(program: Command): void {
  const users = program.command('users').description('manage users (more through the admin API and the console at /admin)');
  withDatabase(
    users
      .command('create')
      .description('create a confirmed user with a password; --admin gives it an admin role (it can sign in to /admin)')
      .requiredOption('--email <address>', 'the e-mail address')
      .option('--password <password>', 'the password (default: read from LATCHKEY_PASSWORD)')
      .option('--admin', 'give the user an admin role'),
  ).action(async (flags: CreateUserFlags) => {
    await (await import('../commands/users.js')).runUsersCreate(flags);
  });
}
