import type { IdentityServer } from './support.js';

/** A mail from the development outbox, with its six-digit code and its link when it has them. */
export interface OutboxMail {
  readonly id: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly code: string;
  readonly link: string;
}

/** The mails to `address` in the development outbox, newest first. */
export async function outbox(app: IdentityServer, address: string): Promise<OutboxMail[]> {
  const answer = await fetch(`${app.auth}/admin/outbox?email=${encodeURIComponent(address)}`, { headers: { authorization: `Bearer ${app.serviceRoleKey}` } });
  const { messages } = (await answer.json()) as { messages: { id: number | string; to: string; subject: string; text: string }[] };
  return messages.map((message) => ({
    ...message,
    id: String(message.id),
    code: /code: (\d{6})/.exec(message.text)?.[1] ?? '',
    link: /(http\S+\/verify\?\S+)/.exec(message.text)?.[1] ?? '',
  }));
}

/** The newest mail to `address` that is not in `seen` (mail goes out after the answer: waits up to 5 s). */
export async function nextMail(app: IdentityServer, address: string, seen: readonly OutboxMail[] = []): Promise<OutboxMail> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const fresh = (await outbox(app, address)).find((mail) => !seen.some((old) => old.id === mail.id));
    if (fresh) return fresh;
    if (Date.now() > deadline) throw new Error(`no mail to ${address}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
