import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IdentityError, Messages } from '../errors.js';
import { requireUser } from '../http/authenticate.js';
import { bodyOf, normaliseEmail, optionalObject, optionalString } from '../http/request.js';
import { checkNewPassword } from '../passwords.js';
import type { IdentityRuntime } from '../runtime.js';
import type { CodeMailer } from '../otp/code-mail.js';
import { endSessions } from '../end-sessions.js';
import { EMAIL_CHANGE_TOKENS, emailChangeRecipients, requestEmailChange } from '../otp/email-change.js';
import { sendReauthentication, useReauthentication } from '../otp/reauthentication.js';
import { isUniqueViolation, userJson } from '../users.js';
import * as users from '../store/users.js';
import { deleteUserTokens } from '../store/one-time-tokens.js';
import type { UserUpdateSettings } from './user-settings.js';
import { userActor } from '../audit/index.js';
import { clientAddress } from '../http/client-address.js';
import type { PhoneCodes } from '../phone/codes.js';
import { requestedPhone, requestPhoneChange } from '../phone/change.js';

/** Merges `changes` into metadata as GoTrue does: `null` deletes a key, anything else sets it. */
export function mergeMetadata(current: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/** What the user routes need besides the runtime. */
export interface UserRouteDependencies {
  readonly mail: CodeMailer;
  readonly settings: UserUpdateSettings;
  /** Texted codes for phone changes. */
  readonly phone: PhoneCodes;
}

/** `redirect_to` of the request: the query's (supabase-js `emailRedirectTo`), else the body's. */
function redirectOf(request: FastifyRequest, body: Record<string, unknown>): string | undefined {
  const query = (request.query as { redirect_to?: unknown } | undefined)?.redirect_to;
  return typeof query === 'string' && query !== '' ? query : optionalString(body, 'redirect_to');
}

/**
 * `GET /user`, `PUT /user` and `GET /reauthenticate`: the signed-in user. A new `email` takes effect
 * only once confirmed (by both addresses with secure email change; at once only for a user without an
 * address while sign-ups are autoconfirmed, as GoTrue). A new `password` may need a reauthentication
 * `nonce`, needs an aal2 session when the user has a verified factor (as do email changes), ends the
 * user's other sessions (a `password_changed` revocation event) and cancels pending
 * one-time codes and email changes.
 */
export function registerUserRoutes(app: FastifyInstance, runtime: IdentityRuntime, deps: UserRouteDependencies): void {
  app.get('/user', async (request) => {
    const { user } = await requireUser(runtime, request);
    return userJson(user);
  });

  app.get('/reauthenticate', async (request) => {
    const { user } = await requireUser(runtime, request);
    await sendReauthentication(runtime, deps.mail, request, user);
    return {};
  });

  app.put('/user', async (request) => {
    const { user, sessionId, claims } = await requireUser(runtime, request);
    const body = bodyOf(request);
    const rawEmail = optionalString(body, 'email');
    const password = optionalString(body, 'password');
    const data = optionalObject(body, 'data');
    const newPhone = await requestedPhone(runtime, deps.phone, user, optionalString(body, 'phone'));
    const email = rawEmail ? normaliseEmail(rawEmail) : undefined;
    const newEmail = email && email !== user.email ? email : undefined;
    // What a second factor protects needs the second factor (GoTrue's rule).
    const hasVerifiedFactor = (user.factors ?? []).some((factor) => factor.status === 'verified');
    if (hasVerifiedFactor && claims.aal !== 'aal2' && (password || newEmail !== undefined)) {
      throw new IdentityError(401, 'insufficient_aal', 'AAL2 session is required to update email or password when MFA is enabled.');
    }
    let hash: string | undefined;
    if (password !== undefined) {
      checkNewPassword(password, runtime.settings.passwordMinLength);
      if (deps.settings.passwordChangeRequiresReauthentication) await useReauthentication(runtime, deps.mail, user, optionalString(body, 'nonce'));
      if (user.encrypted_password && (await runtime.passwords.verify(password, user.encrypted_password))) {
        throw new IdentityError(422, 'same_password', Messages.samePassword);
      }
      hash = await runtime.passwords.hash(password);
    }
    const immediateEmail = newEmail !== undefined && !user.email && runtime.settings.mailerAutoconfirm;
    if (newEmail !== undefined) {
      if (await users.emailTaken(runtime.db, newEmail, user.id)) throw new IdentityError(422, 'email_exists', Messages.emailExists);
      if (!immediateEmail) {
        const change = { user, newEmail, redirectTo: redirectOf(request, body) };
        deps.mail.takeBudget(request, ...emailChangeRecipients(deps.mail, change));
        await requestEmailChange(runtime, deps.mail, change);
      }
    }
    // A new number waits for its texted code, unless numbers are confirmed without one (`SMS_AUTOCONFIRM`).
    const immediatePhone = newPhone !== undefined && deps.phone.settings.autoconfirm;
    if (newPhone !== undefined && !immediatePhone) await requestPhoneChange(runtime, deps.phone, request, user, newPhone, body);
    try {
      const { updated, ended } = await runtime.db.transaction(async (tx) => {
        let ended = null;
        if (hash) {
          // Codes mailed before the change (recovery, email change, nonces) no longer count, as in GoTrue.
          // An email change asked for in this same request stays pending.
          const keepsEmailChange = newEmail !== undefined && !immediateEmail;
          await deleteUserTokens(tx, user.id, keepsEmailChange ? EMAIL_CHANGE_TOKENS : []);
          await users.setPassword(tx, user.id, hash, keepsEmailChange);
          if (deps.settings.passwordChangeEndsSessions) {
            ended = await endSessions(tx, runtime.revocations, { kind: 'password_changed', userId: user.id, exceptSessionId: sessionId });
          }
        }
        if (data) {
          await users.setUserMetadata(tx, user.id, mergeMetadata(user.raw_user_meta_data, data));
        }
        if (immediateEmail) await users.changeEmail(tx, user.id, newEmail, true);
        const ipAddress = clientAddress(request, runtime.settings);
        if (hash) await runtime.audit.record(tx, { action: 'user_updated_password', actor: userActor(user), ipAddress });
        await runtime.audit.record(tx, { action: 'user_modified', actor: userActor(user), ipAddress });
        if (immediatePhone) await users.setConfirmedPhone(tx, user.id, newPhone);
        return { updated: await users.findUserById(tx, user.id), ended };
      });
      if (ended) await runtime.revocations.announce(ended);
      if (!updated) throw new IdentityError(403, 'user_not_found', Messages.userFromSubMissing);
      return userJson(updated);
    } catch (error) {
      if (isUniqueViolation(error, 'users_phone_key')) throw new IdentityError(422, 'phone_exists', Messages.phoneExists);
      if (isUniqueViolation(error)) throw new IdentityError(422, 'email_exists', Messages.emailExists);
      throw error;
    }
  });
}
