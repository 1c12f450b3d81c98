import { expect } from 'vitest';
import { readOutbox } from '../../src/index.js';
import type { Queryable } from '../../src/db/index.js';

/**
 * The secret token in the newest invitation mail to `address`, read from the development outbox as the
 * mailbox holder would; waits until `mails` messages have arrived. Checks the accept link carries it too.
 */
export async function mailedInvitationToken(db: Queryable, address: string, mails = 1): Promise<string> {
  await expect.poll(async () => (await readOutbox(db, { recipient: address })).length).toBe(mails);
  const [mail] = await readOutbox(db, { recipient: address });
  const code = /code: (\S+)/.exec(mail!.text_body)?.[1];
  expect(code).toBeDefined();
  expect(mail!.text_body).toContain(`invitation_token=${code}`);
  return code!;
}
