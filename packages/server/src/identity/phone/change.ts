import type { FastifyRequest } from 'fastify';
import { IdentityError, Messages } from '../errors.js';
import { normalisePhone } from '../http/request.js';
import type { IdentityRuntime } from '../runtime.js';
import type { UserRow } from '../users.js';
import { phoneTaken, setPendingPhone } from '../store/users.js';
import type { PhoneCodes } from './codes.js';
import { channelOf } from './codes.js';

/**
 * The number a `PUT /user` asks for, when it differs from the current one: 422 `phone_provider_disabled`
 * when phone sign-in is off, 400 for a malformed number, 422 `phone_exists` when another account has it.
 */
export async function requestedPhone(runtime: IdentityRuntime, codes: PhoneCodes, user: UserRow, raw: string | undefined): Promise<string | undefined> {
  if (!raw) return undefined;
  if (!codes.settings.phoneEnabled) throw new IdentityError(422, 'phone_provider_disabled', Messages.phoneDisabled);
  const phone = normalisePhone(raw);
  if (phone === user.phone) return undefined;
  if (await phoneTaken(runtime.db, phone, user.id)) throw new IdentityError(422, 'phone_exists', Messages.phoneExists);
  return phone;
}

/**
 * Starts changing a user's number: records `phone_change` (shown as `new_phone`) and texts a code to
 * the new number; `POST /verify` with `type: 'phone_change'` completes it. A new request replaces a
 * pending one. Takes the message from the budget first (429 `over_sms_send_rate_limit`).
 */
export async function requestPhoneChange(runtime: IdentityRuntime, codes: PhoneCodes, request: FastifyRequest, user: UserRow, phone: string, body: Record<string, unknown>): Promise<void> {
  const channel = channelOf(body);
  codes.takeBudget(request, phone);
  await setPendingPhone(runtime.db, user.id, phone);
  await codes.send(user.id, 'phone_change', phone, channel);
}
