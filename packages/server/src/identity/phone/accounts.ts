import type { Queryable } from '../../db/index.js';
import { IdentityError, Messages } from '../errors.js';
import type { IdentityRuntime } from '../runtime.js';
import type { UserRow } from '../users.js';
import { currentPhone, findUserByPhone, insertPhoneAccount, lockPendingPhone, phoneTaken, setConfirmedPhone, type NewPhoneAccount } from '../store/users.js';

/**
 * Creates an account for `phone` with a `phone` identity (GoTrue's shape); answers the account and
 * whether this call created it (`false`: another request created it first, and that account is answered).
 */
export async function createPhoneUser(runtime: IdentityRuntime, tx: Queryable, user: NewPhoneAccount): Promise<{ user: UserRow; created: boolean }> {
  // A number another request registered first is left alone (no error, so the transaction stays usable).
  const created = await insertPhoneAccount(tx, { audience: runtime.settings.audience, role: runtime.settings.defaultRole }, user);
  const row = await findUserByPhone(tx, user.phone);
  if (!row) throw new IdentityError(422, 'phone_exists', Messages.phoneExists);
  return { user: row, created };
}

/** Marks the user's current number confirmed (a texted code proves it). */
export async function confirmPhone(tx: Queryable, userId: string): Promise<void> {
  const phone = await currentPhone(tx, userId);
  if (phone) await setConfirmedPhone(tx, userId, phone);
}

/**
 * Completes a pending phone change of `userId` (the code texted to the new number was confirmed):
 * `false` when none is pending; 422 `phone_exists` when another account took the number meanwhile.
 * Locks the user row.
 */
export async function confirmPhoneChange(tx: Queryable, userId: string, phone: string): Promise<boolean> {
  if ((await lockPendingPhone(tx, userId)) !== phone) return false;
  if (await phoneTaken(tx, phone, userId)) throw new IdentityError(422, 'phone_exists', Messages.phoneExists);
  await setConfirmedPhone(tx, userId, phone);
  return true;
}
