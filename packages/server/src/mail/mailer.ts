import type { Transporter } from 'nodemailer';
import type { Queryable } from '../db/index.js';
import type { MailSettings } from './settings.js';

/** One message to one recipient. */
export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Delivers mail: over SMTP, or into the development outbox. */
export interface Mailer {
  readonly kind: 'smtp' | 'outbox';
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** A row of the development outbox (`auth.mail_outbox`). */
export interface OutboxMessage {
  id: number;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string;
  created_at: Date;
  [column: string]: unknown;
}

/**
 * SMTP through nodemailer (pooled connections; implicit TLS on port 465, STARTTLS when offered otherwise).
 * nodemailer is loaded and the pool opened at the first message, not at start.
 */
export function smtpMailer(settings: MailSettings & { host: string }): Mailer {
  let transport: Promise<Transporter> | undefined;
  const open = () =>
    (transport ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport({
        host: settings.host,
        port: settings.port,
        secure: settings.port === 465,
        pool: true,
        ...(settings.user ? { auth: { user: settings.user, pass: settings.pass ?? '' } } : {}),
      }),
    ));
  const from = { name: settings.senderName, address: settings.from };
  return {
    kind: 'smtp',
    async send(message) {
      await (await open()).sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html });
    },
    close: () => {
      void transport?.then((opened) => opened.close());
    },
  };
}

/** Keeps messages in `auth.mail_outbox` so a developer can read them (`GET /auth/v1/admin/outbox`, `latchkey mail`). */
export function outboxMailer(db: Queryable): Mailer {
  return {
    kind: 'outbox',
    async send(message) {
      await db.query('insert into auth.mail_outbox (recipient, subject, text_body, html_body) values ($1, $2, $3, $4)', [message.to, message.subject, message.text, message.html]);
    },
    close: () => undefined,
  };
}

/** The outbox, newest first; only messages to `recipient` when given. */
export async function readOutbox(db: Queryable, options: { recipient?: string; limit?: number } = {}): Promise<OutboxMessage[]> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 1000);
  const { rows } = options.recipient
    ? await db.query<OutboxMessage>('select * from auth.mail_outbox where recipient = $1 order by id desc limit $2', [options.recipient.toLowerCase(), limit])
    : await db.query<OutboxMessage>('select * from auth.mail_outbox order by id desc limit $1', [limit]);
  return rows;
}

/** An outbox message as the admin API and `latchkey mail --json` show it. */
export function outboxJson(row: OutboxMessage): Record<string, unknown> {
  return { id: row.id, to: row.recipient, subject: row.subject, text: row.text_body, html: row.html_body, created_at: row.created_at.toISOString() };
}
