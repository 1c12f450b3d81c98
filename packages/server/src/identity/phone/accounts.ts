import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { IdentityError, Messages } from '../errors.js';
import type { IdentityRuntime } from '../runtime.js';
import type { UserRow } from '../users.js';
import { addProvider, findUserByPhone } from '../store/users.js';

/** What a new phone account is made of. */
export interface NewPhoneUser {
  readonly phone: string;
  readonly data: Record<string, unknown>;
  readonly passwordHash: string | null;
  readonly confirmed: boolean;
}

/**
 * Creates an account for `phone` with a `phone` identity (GoTrue's shape); answers the account and
 * whether this call created it (`false`: another request created it first, and that account is answered).
 */
export async function createPhoneUser(runtime: IdentityRuntime, tx: Queryable, user: NewPhoneUser): Promise<{ user: UserRow; created: boolean }> {
  const id = randomUUID();
  const identityData = { sub: id, phone: user.phone, email_verified: false, phone_verified: user.confirmed };
  // A number another request registered first is left alone (no error, so the transaction stays usable).
  const inserted = await tx.query(
    `with u as (
       insert into auth.users (id, aud, role, phone, encrypted_password, phone_confirmed_at, raw_app_meta_data, raw_user_meta_data)
       values ($1, $2, $3, $4, $5, case when $6::boolean then now() end, $7, $8)
       on conflict (phone) where phone is not null and deleted_at is null do nothing returning id
     )
     insert into auth.identities (id, provider_id, user_id, identity_data, provider) select $9, $1, u.id, $10, 'phone' from u returning id`,
    [
      id,
      runtime.settings.audience,
      runtime.settings.defaultRole,
      user.phone,
      user.passwordHash,
      user.confirmed,
      JSON.stringify({ provider: 'phone', providers: ['phone'] }),
      JSON.stringify({ ...user.data, ...identityData }),
      randomUUID(),
      JSON.stringify(identityData),
    ],
  );
  const created = inserted.rows.length > 0;
  const row = await findUserByPhone(tx, user.phone);
  if (!row) throw new IdentityError(422, 'phone_exists', Messages.phoneExists);
  return { user: row, created };
}

/**
 * Sets a user's number and marks it confirmed, keeping the `phone` identity in step (created when the
 * user had none, with `phone` joining `app_metadata.providers`).
 */
export async function setConfirmedPhone(tx: Queryable, userId: string, phone: string): Promise<void> {
  await tx.query(
    `update auth.users set phone = $2, phone_confirmed_at = now(), phone_change = null, phone_change_sent_at = null,
            raw_user_meta_data = case when raw_user_meta_data ? 'phone_verified' then raw_user_meta_data || '{"phone_verified": true}'::jsonb else raw_user_meta_data end,
            updated_at = now()
      where id = $1`,
    [userId, phone],
  );
  const updated = await tx.query(
    `update auth.identities set identity_data = identity_data || jsonb_build_object('phone', $2::text, 'phone_verified', true), updated_at = now()
      where user_id = $1 and provider = 'phone'`,
    [userId, phone],
  );
  if (updated.rowCount === 0) {
    await tx.query(
      `insert into auth.identities (id, provider_id, user_id, identity_data, provider)
       values (gen_random_uuid(), $1::text, $1::uuid, jsonb_build_object('sub', $1::text, 'phone', $2::text, 'email_verified', false, 'phone_verified', true), 'phone')`,
      [userId, phone],
    );
    await addProvider(tx, userId, 'phone');
  }
}

/** Marks the user's current number confirmed (a texted code proves it). */
export async function confirmPhone(tx: Queryable, userId: string): Promise<void> {
  const { rows } = await tx.query<{ phone: string | null }>('select phone from auth.users where id = $1', [userId]);
  const phone = rows[0]?.phone;
  if (phone) await setConfirmedPhone(tx, userId, phone);
}

/**
 * Completes a pending phone change of `userId` (the code texted to the new number was confirmed):
 * `false` when none is pending; 422 `phone_exists` when another account took the number meanwhile.
 * Locks the user row.
 */
export async function confirmPhoneChange(tx: Queryable, userId: string, phone: string): Promise<boolean> {
  const { rows } = await tx.query<{ phone_change: string | null }>('select phone_change from auth.users where id = $1 for update', [userId]);
  if (rows[0]?.phone_change !== phone) return false;
  const taken = await tx.query('select 1 from auth.users where phone = $1 and id <> $2 and deleted_at is null', [phone, userId]);
  if (taken.rows.length > 0) throw new IdentityError(422, 'phone_exists', Messages.phoneExists);
  await setConfirmedPhone(tx, userId, phone);
  return true;
}
