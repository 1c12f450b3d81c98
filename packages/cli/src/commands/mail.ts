import { runAdmin, type DatabaseFlags } from '../admin/target.js';
import { CliError, ExitCode } from '../exit-codes.js';

/** Flags of `latchkey mail`. */
export interface MailFlags extends DatabaseFlags {
  readonly to?: string;
  readonly limit?: string;
}

/**
 * `latchkey mail [--to <address>] [--limit N] [--json]`: the development outbox — the sign-in codes,
 * magic links, confirmation and recovery mails a server without SMTP settings keeps instead of sending,
 * newest first. Reads only.
 */
export async function runMail(flags: MailFlags): Promise<void> {
  if (flags.limit !== undefined && (!/^\d{1,4}$/.test(flags.limit) || Number(flags.limit) < 1 || Number(flags.limit) > 1000)) {
    throw new CliError('--limit must be a whole number from 1 to 1000', ExitCode.Usage);
  }
  const { messages } = await runAdmin(flags, false, (admin) =>
    admin.mail({ ...(flags.to ? { to: flags.to } : {}), limit: flags.limit ? Number(flags.limit) : 10 }),
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
