import type { FastifyRequest } from 'fastify';
import { userActor } from '../audit/index.js';
import { IdentityError, validationFailed } from '../errors.js';
import { clientAddress } from '../http/client-address.js';
import type { IdentityRuntime } from '../runtime.js';
import type { UserRow } from '../users.js';
import type { CodeMailer } from './code-mail.js';
import { composeCodeMail } from './messages.js';
import { consumeOneTimeCode, issueOneTimeToken } from './tokens.js';

/** GoTrue's message for a wrong, used or old nonce. */
const INVALID_NONCE = 'Nonce has expired or is invalid';

/**
 * `GET /reauthenticate`: mails a six-digit nonce to the user's confirmed address (replacing an earlier
 * one). 400 `validation_failed` without an address, 422 `email_not_confirmed` before confirmation,
 * 429 under the mail limits.
 */
export async function sendReauthentication(runtime: IdentityRuntime, mail: CodeMailer, request: FastifyRequest, user: UserRow): Promise<void> {
  const email = user.email;
  if (!email) throw validationFailed('Reauthentication requires the user to have an email or a phone number');
  if (!user.email_confirmed_at) throw new IdentityError(422, 'email_not_confirmed', 'Please verify your email first.');
  mail.takeBudget(request, email);
  const issued = await runtime.db.transaction(async (tx) => {
    await runtime.audit.record(tx, { action: 'user_reauthenticate_requested', actor: userActor(user), ipAddress: clientAddress(request, runtime.settings) });
    return issueOneTimeToken(tx, user.id, 'reauthentication', email, null);
  });
  mail.send(composeCodeMail('reauthentication', email, issued.otp), 'reauthentication');
}

/**
 * Uses up the user's reauthentication nonce, in a transaction of its own so that a wrong nonce is
 * counted (the nonce dies after five). 400 `reauthentication_needed` without a nonce, 422
 * `reauthentication_not_valid` for a wrong, used or old one.
 */
export async function useReauthentication(runtime: IdentityRuntime, mail: CodeMailer, user: UserRow, nonce: string | undefined): Promise<void> {
  if (!nonce) throw new IdentityError(400, 'reauthentication_needed', 'Password update requires reauthentication');
  const email = user.email;
  if (!email) throw new IdentityError(422, 'reauthentication_not_valid', 'Reauthentication requires an email or a phone number');
  const used = await runtime.db.transaction((tx) => consumeOneTimeCode(tx, email, nonce.trim(), ['reauthentication'], mail.settings.otpExpiry));
  if (!used || used.user_id !== user.id) throw new IdentityError(422, 'reauthentication_not_valid', INVALID_NONCE);
}
