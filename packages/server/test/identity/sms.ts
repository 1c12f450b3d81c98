import type { IdentityServer } from './support.js';

/** A text message from the development SMS outbox, with its six-digit code. */
export interface OutboxSms {
  readonly id: number;
  readonly to: string;
  readonly body: string;
  readonly channel: string;
  readonly code: string;
}

let counter = 0;
/** A fresh E.164 number per call (`+1555…`, digits only after the `+`). */
export function phoneNumber(): string {
  counter += 1;
  const unique = `${Date.now() % 1_000_000}${String(counter).padStart(3, '0')}`.slice(-8);
  return `+1555${unique.padStart(8, '0')}`;
}

/** The messages to `phone` in the development SMS outbox, newest first. */
export async function smsOutbox(app: IdentityServer, phone: string): Promise<OutboxSms[]> {
  const answer = await fetch(`${app.auth}/admin/sms?phone=${encodeURIComponent(phone)}`, { headers: { authorization: `Bearer ${app.serviceRoleKey}` } });
  const { messages } = (await answer.json()) as { messages: Omit<OutboxSms, 'code'>[] };
  return messages.map((message) => ({ ...message, code: /(\d{6})/.exec(message.body)?.[1] ?? '' }));
}

/** The newest message to `phone` (codes are texted before the answer, so it is there already). */
export async function lastSms(app: IdentityServer, phone: string): Promise<OutboxSms> {
  const [message] = await smsOutbox(app, phone);
  if (!message) throw new Error(`no text message to ${phone}`);
  return message;
}
