import type { Queryable } from '../../db/index.js';
import { IdentityError, Messages } from '../errors.js';
import type { IdentityRuntime } from '../runtime.js';
import type { UserRow } from '../users.js';
import { changeEmail, emailTaken, finishEmailChange, lockPendingEmail } from '../store/users.js';
import type { CodeMailer } from './code-mail.js';
import { composeMail } from './messages.js';
import { issueOneTimeToken, type OneTimeTokenType } from './tokens.js';
import { deleteUserTokensOfTypes, hasUserTokens } from '../store/one-time-tokens.js';

/** The token types of an email change: one code for the current address, one for the new. */
export const EMAIL_CHANGE_TOKENS: readonly OneTimeTokenType[] = ['email_change_current', 'email_change_new'];

/** GoTrue's answer when the first of the two addresses confirmed. */
export const SINGLE_CONFIRMATION = 'Confirmation link accepted. Please proceed to confirm link sent to the other email';

/** A requested change of a user's address. */
export interface EmailChange {
  readonly user: UserRow;
  readonly newEmail: string;
  readonly redirectTo: string | undefined;
}

/** The addresses an email change mails: the new one, and the current one with secure email change. */
export function emailChangeRecipients(mail: CodeMailer, change: EmailChange): string[] {
  const current = mail.settings.secureEmailChange ? change.user.email : null;
  return current ? [change.newEmail, current] : [change.newEmail];
}

/**
 * Starts changing a user's address (GoTrue's secure email change): records `new_email` and
 * `email_change_sent_at`, and mails a code and link to each of {@link emailChangeRecipients} (the caller
 * takes them from the mail budget). The address changes only once every mailed code was confirmed
 * ({@link confirmEmailChange}); a new request replaces a pending one.
 */
export async function requestEmailChange(runtime: IdentityRuntime, mail: CodeMailer, change: EmailChange): Promise<void> {
  const { user, newEmail } = change;
  const current = emailChangeRecipients(mail, change)[1] ?? null;
  const issued = await runtime.db.transaction(async (tx) => {
    // Tokens first, then the user row: the order confirmEmailChange takes its locks in.
    await deleteUserTokensOfTypes(tx, user.id, EMAIL_CHANGE_TOKENS);
    const toNew = await issueOneTimeToken(tx, user.id, 'email_change_new', newEmail, null);
    const toCurrent = current ? await issueOneTimeToken(tx, user.id, 'email_change_current', current, null) : null;
    await changeEmail(tx, user.id, newEmail, false);
    return { toNew, toCurrent };
  });
  mail.send(composeMail('email_change', newEmail, mail.link(issued.toNew.hash, 'email_change', change.redirectTo), issued.toNew.otp), 'email_change');
  if (current && issued.toCurrent) {
    mail.send(composeMail('email_change', current, mail.link(issued.toCurrent.hash, 'email_change', change.redirectTo), issued.toCurrent.otp), 'email_change');
  }
}

/**
 * Called in the transaction that used up one email change token of `userId`: `pending` while the other
 * address has not confirmed, `changed` once the address was switched to `new_email`, `invalid` when no
 * change is pending. Locks the user row, so two confirmations arriving together settle one after the other.
 * 422 `email_exists` when another account took the new address meanwhile.
 */
export async function confirmEmailChange(tx: Queryable, userId: string): Promise<'pending' | 'changed' | 'invalid'> {
  const target = await lockPendingEmail(tx, userId);
  if (!target) return 'invalid';
  if (await hasUserTokens(tx, userId, EMAIL_CHANGE_TOKENS)) return 'pending';
  if (await emailTaken(tx, target, userId)) throw new IdentityError(422, 'email_exists', Messages.emailExists);
  await changeEmail(tx, userId, target, true);
  await finishEmailChange(tx, userId);
  return 'changed';
}
