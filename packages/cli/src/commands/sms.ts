import { runAdmin, type DatabaseFlags } from '../admin/target.js';
import { CliError, ExitCode } from '../exit-codes.js';

/** Flags of `latchkey sms`. */
export interface SmsFlags extends DatabaseFlags {
  readonly to?: string;
  readonly limit?: string;
}

/**
 * `latchkey sms [--to <number>] [--limit N] [--json]`: the development SMS outbox — the sign-in and
 * phone change codes a server without an SMS provider keeps instead of texting, newest first. Reads only.
 */
export async function runSms(flags: SmsFlags): Promise<void> {
  if (flags.limit !== undefined && (!/^\d{1,4}$/.test(flags.limit) || Number(flags.limit) < 1 || Number(flags.limit) > 1000)) {
    throw new CliError('--limit must be a whole number from 1 to 1000', ExitCode.Usage);
  }
  const { messages } = await runAdmin(flags, false, (admin) => admin.sms({ ...(flags.to ? { to: flags.to } : {}), limit: flags.limit ? Number(flags.limit) : 10 }));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ messages })}\n`);
    return;
  }
  if (messages.length === 0) {
    process.stdout.write('the SMS outbox is empty\n');
    return;
  }
  for (const message of messages) {
    process.stdout.write(`── ${String(message.created_at)}  to ${String(message.to)} (${String(message.channel)})\n${String(message.body)}\n`);
  }
}
