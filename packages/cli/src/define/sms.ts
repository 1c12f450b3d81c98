import type { Command } from 'commander';
import type { SmsFlags } from '../commands/sms.js';
import { withDatabase } from './shared.js';

export function register(program: Command): void {
  withDatabase(
    program
      .command('sms')
      .description('show the development SMS outbox (codes kept when no SMS provider is configured)')
      .option('--to <number>', 'only messages to this phone number')
      .option('--limit <n>', 'how many messages, newest first (default 10)'),
    'print {"messages":[…]} as JSON',
  ).action(async (flags: SmsFlags) => {
    await (await import('../commands/sms.js')).runSms(flags);
  });
}
