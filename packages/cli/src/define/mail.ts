import type { Command } from 'commander';
import type { MailFlags } from '../commands/mail.js';
import { withDatabase } from './shared.js';

export function register(program: Command): void {
  withDatabase(
    program
      .command('mail')
      .description('show the development outbox (mail kept when no SMTP server is configured)')
      .option('--to <address>', 'only messages to this address')
      .option('--limit <n>', 'how many messages, newest first (default 10)'),
    'print {"messages":[…]} as JSON',
  ).action(async (flags: MailFlags) => {
    await (await import('../commands/mail.js')).runMail(flags);
  });
}
