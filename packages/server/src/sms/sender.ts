import type { Queryable } from '../db/index.js';

/** How a code reaches the phone (GoTrue's `channel`). */
export type SmsChannel = 'sms' | 'whatsapp';

/** One text message to one number (E.164 digits, no `+`). */
export interface SmsMessage {
  readonly to: string;
  readonly body: string;
  readonly channel: SmsChannel;
}

/** Sends text messages; answers the provider's message id. */
export interface SmsSender {
  readonly kind: 'outbox' | 'twilio';
  send(message: SmsMessage): Promise<string>;
}

/** A provider refused or failed a message (the answer is 422 `sms_send_failed`). */
export class SmsSendError extends Error {
  override readonly name = 'SmsSendError';
}

/** A row of the development SMS outbox (`auth.sms_outbox`). */
export interface SmsOutboxRow {
  id: number | string;
  recipient: string;
  body: string;
  channel: string;
  created_at: Date;
  [column: string]: unknown;
}

/** Keeps messages in `auth.sms_outbox` (`GET /auth/v1/admin/sms`, `latchkey sms`). */
export function outboxSender(db: Queryable): SmsSender {
  return {
    kind: 'outbox',
    async send(message) {
      const { rows } = await db.query<{ id: number | string }>('insert into auth.sms_outbox (recipient, body, channel) values ($1, $2, $3) returning id', [
        message.to,
        message.body,
        message.channel,
      ]);
      return `outbox-${String(rows[0]!.id)}`;
    },
  };
}

/** The SMS outbox, newest first; only messages to `recipient` (with or without `+`) when given. */
export async function readSmsOutbox(db: Queryable, options: { recipient?: string; limit?: number } = {}): Promise<SmsOutboxRow[]> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 1000);
  const recipient = options.recipient?.replace(/^\+/, '').replace(/\s/g, '');
  const { rows } = recipient
    ? await db.query<SmsOutboxRow>('select * from auth.sms_outbox where recipient = $1 order by id desc limit $2', [recipient, limit])
    : await db.query<SmsOutboxRow>('select * from auth.sms_outbox order by id desc limit $1', [limit]);
  return rows;
}

/** An outbox message as the admin API and `latchkey sms --json` show it (`to` with its `+`). */
export function smsOutboxJson(row: SmsOutboxRow): Record<string, unknown> {
  return { id: Number(row.id), to: `+${row.recipient}`, body: row.body, channel: row.channel, created_at: row.created_at.toISOString() };
}
