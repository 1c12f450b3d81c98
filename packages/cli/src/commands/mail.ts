import { outboxJson, readOutbox } from '@latchkey/server';
import { withServerDatabase } from './database.js';
import type { Command } from 'commander';
import { CliError, ExitCode } from '../exit-codes.js';

/** Flags of `latchkey mail`. */
export interface MailFlags {
  readonly databaseUrl?: string;
  readonly dataDir?: string;
  readonly to?: string;
  readonly limit?: string;
  readonly json?: boolean;
}

/**
 * `latchkey mail [--to <address>] [--limit N] [--json]`: the development outbox — the sign-in codes,
 * magic links, confirmation and recovery mails a server without SMTP settings keeps instead of sending,
 * newest first. Reads the database directly, like `latchkey keys`.
 */
export async function runMail(flags: MailFlags): Promise<void> {
  if (flags.limit !== undefined && !/^\d{1,4}$/.test(flags.limit)) throw new CliError('--limit must be a whole number from 1 to 1000', ExitCode.Usage);
  const messages = await withServerDatabase(flags, async (db) =>
    (await readOutbox(db, { ...(flags.to ? { recipient: flags.to } : {}), limit: flags.limit ? Number(flags.limit) : 10 })).map(outboxJson),
  );
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ messages })}\n`);
    return;
  }
  if (messages.length === 0) {
    process.stdout.write('the outbox is empty\n');
    return;
  }
  for (const message of messages) {
    process.stdout.write(`── ${String(message.created_at)}  to ${String(message.to)}\nSubject: ${String(message.subject)}\n\n${String(message.text)}\n`);
  }
}

/** Adds `mail` to the program. */
export function registerMailCommands(program: Command): void {
  program
    .command('mail')
    .description('show the development outbox (mail kept when no SMTP server is configured)')
    .option('--to <address>', 'only messages to this address')
    .option('--limit <n>', 'how many messages, newest first (default 10)')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'folder for the embedded database (LATCHKEY_DATA_DIR)')
    .option('--json', 'print {"messages":[…]} as JSON')
    .action(async (flags: MailFlags) => {
      await runMail(flags);
    });
}
