import { IdentityError, Messages, validationFailed } from '../errors.js';
import { clientFactsOf, takeToken } from './limits.js';
import { normaliseEmail, normalisePhone } from '../http/request.js';
import { consumeAnyTotp } from '../mfa/factors.js';
import { verifiedTotpFactors } from '../store/factors.js';

import { finishSession, startSession } from '../sessions.js';
import type { TokenResponse } from '../types.js';
import { findUserByEmail, findUserByPhone } from '../store/users.js';
import { isBanned, type UserRow } from '../users.js';
import type { Grant, GrantContext } from './types.js';

/**
 * A TOTP code sent with the password:
 * - `required-when-enrolled`: an account with a verified TOTP factor gets no session without a code
 *   that one of its factors accepts (the OAuth token endpoint's `totp` field);
 * - `given`: the caller chose to send one; the account must have a verified TOTP factor that accepts it
 *   (sign-in over the socket).
 * A code accepted raises the new session to aal2 (`amr` = totp, password).
 */
export type SecondFactor = { readonly kind: 'required-when-enrolled'; readonly code: string | undefined } | { readonly kind: 'given'; readonly code: string };

/** The password grant's input. Exactly one of `email` or `phone` names the account (`email` wins). */
export interface PasswordInput {
  readonly email?: string | undefined;
  readonly phone?: string | undefined;
  readonly password: string;
  /** Default: none — the session is aal1 and the client steps up with `/factors/{id}/verify`. */
  readonly secondFactor?: SecondFactor;
}

export const SecondFactorMessages = {
  required: 'This account has two-factor authentication: a current TOTP code is required in the "totp" field',
  invalid: 'Invalid TOTP code entered (wrong, expired, or already used)',
  noFactor: 'Factor not found',
} as const;

/** The account a password grant names by phone: `null` for a malformed number; 400 when phone logins are off. */
async function phoneAccount(context: GrantContext, raw: string): Promise<{ account: string; user: UserRow | null }> {
  if (!context.phoneEnabled) throw new IdentityError(400, 'phone_provider_disabled', Messages.phoneLoginDisabled);
  let phone: string;
  try {
    phone = normalisePhone(raw);
  } catch {
    return { account: raw, user: null };
  }
  return { account: phone, user: await findUserByPhone(context.runtime.db, phone) };
}

/** Whether the second factor holds: `true` when a code was accepted (aal2), `false` when none was needed. */
async function checkSecondFactor(context: GrantContext, user: UserRow, secondFactor: SecondFactor | undefined): Promise<boolean> {
  if (!secondFactor) return false;
  const factors = await verifiedTotpFactors(context.runtime.db, user.id);
  if (factors.length === 0) {
    if (secondFactor.kind === 'given') throw new IdentityError(422, 'mfa_factor_not_found', SecondFactorMessages.noFactor);
    return false;
  }
  if (secondFactor.code === undefined) throw new IdentityError(422, 'insufficient_aal', SecondFactorMessages.required);
  if (!context.secondFactorAttempts.take(user.id)) throw new IdentityError(429, 'over_request_rate_limit', Messages.rateLimited);
  if (!(await consumeAnyTotp(context.runtime.db, factors, secondFactor.code))) throw new IdentityError(422, 'mfa_verification_failed', SecondFactorMessages.invalid);
  return true;
}

/**
 * `grant_type=password`: e-mail or phone and password. The attempt is counted by the login throttle
 * while the account is looked up, and a refused attempt compares no password. Refusals:
 * `validation_failed` (no e-mail or phone), `email_provider_disabled` / `phone_provider_disabled`,
 * `invalid_credentials`, `over_request_rate_limit` (with `Retry-After` from the throttle),
 * `user_banned`, `email_not_confirmed` / `phone_not_confirmed`, and the second factor's.
 */
export const passwordGrant: Grant<PasswordInput, TokenResponse> = {
  admit: takeToken,
  async issue(context, input, caller) {
    const { runtime } = context;
    const rawEmail = input.email;
    const phone = input.phone;
    if (!rawEmail && !phone) throw validationFailed('missing email or phone');
    if (rawEmail && !runtime.settings.emailEnabled) throw new IdentityError(422, 'email_provider_disabled', Messages.emailLoginDisabled);
    let email: string | null;
    try {
      email = rawEmail ? normaliseEmail(rawEmail) : null;
    } catch {
      email = null;
    }
    const byPhone = !rawEmail && phone ? await phoneAccount(context, phone) : null;
    // The account is looked up while the attempt is counted; a refused attempt compares no password.
    const [attempt, user] = await Promise.all([
      runtime.logins.begin(byPhone?.account ?? email ?? rawEmail ?? '', caller.ip),
      byPhone ? byPhone.user : email ? findUserByEmail(runtime.db, email) : null,
    ]);
    const ok = await runtime.passwords.verify(input.password, user?.encrypted_password ?? null);
    if (!user || !ok) throw new IdentityError(400, 'invalid_credentials', Messages.invalidCredentials);
    await attempt.succeeded();
    if (isBanned(user)) throw new IdentityError(400, 'user_banned', Messages.userBanned);
    if (byPhone && !user.phone_confirmed_at) throw new IdentityError(400, 'phone_not_confirmed', Messages.phoneNotConfirmed);
    if (!byPhone && !user.email_confirmed_at) throw new IdentityError(400, 'email_not_confirmed', Messages.emailNotConfirmed);
    const aal2 = await checkSecondFactor(context, user, input.secondFactor);
    const prepared = await runtime.db.transaction((tx) =>
      startSession(tx, runtime.issuer, user.id, {
        method: 'password',
        aal: aal2 ? 'aal2' : 'aal1',
        alsoVerified: aal2 ? ['totp'] : [],
        client: clientFactsOf(caller),
        audit: { writer: runtime.audit, traits: { provider: byPhone ? 'phone' : 'email' } },
      }),
    );
    return finishSession(runtime.issuer, prepared);
  },
};
