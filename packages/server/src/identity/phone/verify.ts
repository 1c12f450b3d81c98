import type { FastifyRequest } from 'fastify';
import { clientFacts } from '../http/client-address.js';
import { consumeOneTimeCode } from '../otp/tokens.js';
import type { IdentityRuntime } from '../runtime.js';
import { startSession, type PreparedSession } from '../sessions.js';
import { confirmPhone, confirmPhoneChange } from './accounts.js';
import type { PhoneCodes } from './codes.js';

/**
 * `POST /verify` with `phone` and `token`: `sms` uses up a sign-in code texted to the number and
 * confirms it; `phone_change` uses up the code texted to a new number and switches the account to it.
 * Either way a session opens (`amr` `otp`), in the same transaction. `null` when the code is wrong,
 * used or older than `SMS_OTP_EXP` (wrong codes count against the number's live codes).
 */
export async function verifyPhoneCode(
  runtime: IdentityRuntime,
  codes: PhoneCodes,
  request: FastifyRequest,
  type: 'sms' | 'phone_change',
  phone: string,
  code: string,
): Promise<PreparedSession | null> {
  return runtime.db.transaction(async (tx) => {
    const token = await consumeOneTimeCode(tx, phone, code, [type === 'sms' ? 'confirmation' : 'phone_change'], codes.settings.otpExpiry);
    if (!token) return null;
    if (type === 'sms') await confirmPhone(tx, token.user_id);
    else if (!(await confirmPhoneChange(tx, token.user_id, phone))) return null;
    return startSession(tx, runtime.issuer, token.user_id, {
      method: 'otp',
      client: clientFacts(request, runtime.settings),
      audit: { writer: runtime.audit, traits: { provider: 'phone' } },
    });
  });
}
