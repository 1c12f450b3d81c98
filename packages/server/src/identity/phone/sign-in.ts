import type { FastifyRequest } from 'fastify';
import { IdentityError, Messages, validationFailed } from '../errors.js';
import { clientFacts } from '../http/client-address.js';
import { bodyOf, normalisePhone, optionalBoolean, optionalObject, optionalString } from '../http/request.js';
import { checkNewPassword } from '../passwords.js';
import type { IdentityRuntime } from '../runtime.js';
import { finishSession, startSession } from '../sessions.js';
import { isBanned, userJson } from '../users.js';
import { findUserByPhone, userWithPendingPhone } from '../store/users.js';
import { createPhoneUser } from './accounts.js';
import { channelOf, type PhoneCodes } from './codes.js';

/** GoTrue's answer to `/otp` and `/resend` for a number: `{message_id}` when a message went out. */
export interface SmsOtpAnswer {
  message_id?: string;
}

/** The number of a request, validated (400 `validation_failed`, GoTrue's E.164 message), or 422 when phone sign-in is off. */
export function phoneOf(codes: PhoneCodes, body: Record<string, unknown>): string {
  if (!codes.settings.phoneEnabled) throw new IdentityError(422, 'phone_provider_disabled', Messages.phoneDisabled);
  return normalisePhone(optionalString(body, 'phone') ?? '');
}

const answer = (messageId: string | null): SmsOtpAnswer => (messageId === null ? {} : { message_id: messageId });

/**
 * `POST /otp` with `phone`: texts a sign-in code, creating the account first unless `create_user` is
 * false (then 422 `otp_disabled` for an unknown number) or sign-ups are off. The answer is the same
 * whether the number had an account.
 */
export async function phoneOtp(runtime: IdentityRuntime, codes: PhoneCodes, request: FastifyRequest): Promise<SmsOtpAnswer> {
  const body = bodyOf(request);
  const phone = phoneOf(codes, body);
  const channel = channelOf(body);
  const createUser = optionalBoolean(body, 'create_user') ?? true;
  const data = optionalObject(body, 'data') ?? {};
  let user = await findUserByPhone(runtime.db, phone);
  if (!user && !createUser) throw new IdentityError(422, 'otp_disabled', 'Signups not allowed for otp');
  if (!user && runtime.settings.disableSignup) throw new IdentityError(422, 'signup_disabled', Messages.signupDisabled);
  codes.takeBudget(request, phone);
  user ??= (await runtime.db.transaction((tx) => createPhoneUser(runtime, tx, { phone, data, passwordHash: null, confirmed: codes.settings.autoconfirm }))).user;
  if (isBanned(user)) return {};
  return answer(await codes.send(user.id, 'confirmation', phone, channel));
}

/**
 * `POST /resend` for `sms` (the sign-up code of an unconfirmed number) and `phone_change` (the code of a
 * pending change to that number). Nothing goes out when there is nothing to confirm; the answer is the same.
 */
export async function phoneResend(runtime: IdentityRuntime, codes: PhoneCodes, request: FastifyRequest, type: 'sms' | 'phone_change'): Promise<SmsOtpAnswer> {
  const body = bodyOf(request);
  const phone = phoneOf(codes, body);
  const channel = channelOf(body);
  codes.takeBudget(request, phone);
  if (type === 'sms') {
    const user = await findUserByPhone(runtime.db, phone);
    if (!user || user.phone_confirmed_at || isBanned(user)) return {};
    return answer(await codes.send(user.id, 'confirmation', phone, channel));
  }
  const pending = await userWithPendingPhone(runtime.db, phone);
  if (!pending) return {};
  return answer(await codes.send(pending, 'phone_change', phone, channel));
}

/**
 * `POST /signup` with `phone` and `password`: a new account whose number is confirmed by a texted code
 * (the user is answered), or at once with `SMS_AUTOCONFIRM` (a session is answered). A number that
 * already has a confirmed account is 422 `user_already_exists`; an unconfirmed one gets a new code.
 */
export async function phoneSignUp(runtime: IdentityRuntime, codes: PhoneCodes, request: FastifyRequest): Promise<unknown> {
  const body = bodyOf(request);
  const phone = phoneOf(codes, body);
  const channel = channelOf(body);
  const password = optionalString(body, 'password');
  const data = optionalObject(body, 'data') ?? {};
  if (!password) throw validationFailed('Signup requires a valid password');
  checkNewPassword(password, runtime.settings.passwordMinLength);
  const existing = await findUserByPhone(runtime.db, phone);
  if (existing?.phone_confirmed_at) throw new IdentityError(422, 'user_already_exists', Messages.userAlreadyExists);
  if (existing) {
    codes.takeBudget(request, phone);
    await codes.send(existing.id, 'confirmation', phone, channel);
    return userJson((await findUserByPhone(runtime.db, phone)) ?? existing);
  }
  const passwordHash = await runtime.passwords.hash(password);
  const confirmed = codes.settings.autoconfirm;
  if (!confirmed) codes.takeBudget(request, phone);
  const created = await runtime.db.transaction(async (tx) => {
    const { user, created } = await createPhoneUser(runtime, tx, { phone, data, passwordHash, confirmed });
    if (!created) throw new IdentityError(422, 'user_already_exists', Messages.userAlreadyExists);
    const client = clientFacts(request, runtime.settings);
    const session = confirmed ? await startSession(tx, runtime.issuer, user.id, { method: 'password', client, audit: { writer: runtime.audit, traits: { provider: 'phone' } } }) : null;
    return { user, session };
  });
  if (created.session) return finishSession(runtime.issuer, created.session);
  await codes.send(created.user.id, 'confirmation', phone, channel);
  return userJson((await findUserByPhone(runtime.db, phone)) ?? created.user);
}
