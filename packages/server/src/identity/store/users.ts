import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import type { UserRow } from '../users.js';
import { deleteUserSessions } from './auth-sessions.js';

/**
 * Statements on `auth.users`. Each function runs on the queryable it is given: a transaction when the
 * caller needs several statements to hold together, the database otherwise. Row locks are named where
 * a function takes one.
 */

/** The select list of a user row, `u` being `auth.users`, identities and second factors included. */
export const USER_SELECT = `u.id, u.aud, u.role, u.email, u.encrypted_password, u.email_confirmed_at, u.confirmation_sent_at,
  u.new_email, u.email_change_sent_at, u.phone, u.phone_confirmed_at, u.phone_change, u.phone_change_sent_at, u.last_sign_in_at, u.invited_at, u.raw_app_meta_data,
  u.raw_user_meta_data, u.banned_until, u.is_anonymous, u.created_at, u.updated_at, u.deleted_at,
  (select jsonb_agg(jsonb_build_object('id', i.id, 'provider_id', i.provider_id, 'user_id', i.user_id, 'identity_data', i.identity_data,
     'provider', i.provider, 'last_sign_in_at', i.last_sign_in_at, 'created_at', i.created_at, 'updated_at', i.updated_at, 'email', i.email)
     order by i.created_at) from auth.identities i where i.user_id = u.id) as identities,
  (select jsonb_agg(jsonb_build_object('id', f.id, 'friendly_name', f.friendly_name, 'factor_type', f.factor_type, 'status', f.status,
     'created_at', f.created_at, 'updated_at', f.updated_at, 'last_challenged_at', f.last_challenged_at) order by f.created_at)
     from auth.mfa_factors f where f.user_id = u.id) as factors`;

/** `select` of user rows: `where` (and any `order`/`limit`) follows, on `u`. */
const SELECT_USERS = `select ${USER_SELECT} from auth.users u`;

/** Loads a user (identities included) by id; `null` when absent. */
export async function findUserById(db: Queryable, id: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`${SELECT_USERS} where u.id = $1`, [id]);
  return rows[0] ?? null;
}

/** Loads a live user by (lower-cased) email; `null` when absent. */
export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`${SELECT_USERS} where u.email = $1 and u.deleted_at is null`, [email]);
  return rows[0] ?? null;
}

/** Loads a live user by phone; `null` when absent. */
export async function findUserByPhone(db: Queryable, phone: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`${SELECT_USERS} where u.phone = $1 and u.deleted_at is null`, [phone]);
  return rows[0] ?? null;
}

/** One page of the live users of an audience, newest first. */
export async function listUsers(db: Queryable, audience: string, limit: number, offset: number): Promise<UserRow[]> {
  const { rows } = await db.query<UserRow>(
    `${SELECT_USERS} where u.aud = $1 and u.deleted_at is null
      order by u.created_at desc, u.id desc limit $2 offset $3`,
    [audience, limit, offset],
  );
  return rows;
}

/** How many live users an audience has. */
export async function countUsers(db: Queryable, audience: string): Promise<number> {
  const { rows } = await db.query<{ total: number }>('select count(*)::int8 as total from auth.users where aud = $1 and deleted_at is null', [audience]);
  return Number(rows[0]?.total ?? 0);
}

/** Whether a live user other than `exceptId` (`null`: any live user) has this email. */
export async function emailTaken(db: Queryable, email: string, exceptId: string | null = null): Promise<boolean> {
  const { rows } = await db.query('select 1 from auth.users where email = $1 and id is distinct from $2::uuid and deleted_at is null', [email, exceptId]);
  return rows.length > 0;
}

/** Whether a live user other than `exceptId` (`null`: any live user) has this phone number. */
export async function phoneTaken(db: Queryable, phone: string, exceptId: string | null = null): Promise<boolean> {
  const { rows } = await db.query('select 1 from auth.users where phone = $1 and id is distinct from $2::uuid and deleted_at is null', [phone, exceptId]);
  return rows.length > 0;
}

/** Locks the user's row (`for update`) until the transaction ends, to order concurrent changes to what hangs off it. */
export async function lockUser(tx: Queryable, id: string): Promise<void> {
  await tx.query('select 1 from auth.users where id = $1 for update', [id]);
}

/** The live user with this email, its row locked (`for update`); `null` when there is none. */
export async function lockUserByEmail(tx: Queryable, email: string): Promise<{ id: string; email_confirmed_at: Date | null } | null> {
  const { rows } = await tx.query<{ id: string; email_confirmed_at: Date | null }>(
    'select id, email_confirmed_at from auth.users where email = $1 and deleted_at is null for update',
    [email],
  );
  return rows[0] ?? null;
}

/** A new user's row and identities, as the admin API and `latchkey users create` write them. */
export interface NewUserRecord {
  readonly id: string;
  readonly audience: string;
  readonly role: string;
  readonly email: string | null;
  readonly phone: string | null;
  readonly passwordHash: string;
  readonly emailConfirm: boolean;
  readonly phoneConfirm: boolean;
  readonly appMetadata: Record<string, unknown>;
  readonly userMetadata: Record<string, unknown>;
  /** Banned for this long from now (ms); 0 for not banned. */
  readonly banMs: number;
}

/**
 * Inserts a user and its e-mail / phone identities inside `tx`. Returns `null`, or — writing nothing —
 * the field (`email`, `phone`) that already belongs to another user; the caller names the error.
 */
export async function insertUser(tx: Queryable, user: NewUserRecord): Promise<'email' | 'phone' | null> {
  if (user.email && (await emailTaken(tx, user.email))) return 'email';
  if (user.phone && (await phoneTaken(tx, user.phone))) return 'phone';
  const providers = [...(user.email ? ['email'] : []), ...(user.phone ? ['phone'] : [])];
  const identityBase = { sub: user.id, email_verified: user.email !== null && user.emailConfirm, phone_verified: user.phone !== null && user.phoneConfirm };
  // What was given, as given; confirming the address marks it verified (GoTrue's rule).
  const metadata = user.email !== null && user.emailConfirm ? { ...user.userMetadata, email_verified: true } : user.userMetadata;
  await tx.query(
    `insert into auth.users (id, aud, role, email, phone, encrypted_password, email_confirmed_at, phone_confirmed_at,
                             raw_app_meta_data, raw_user_meta_data, banned_until)
     values ($1, $2, $3, $4, $5, $6, case when $7::boolean then now() end, case when $8::boolean then now() end, $9, $10,
             case when $11::float8 > 0 then now() + make_interval(secs => $11::float8 / 1000) end)`,
    [
      user.id,
      user.audience,
      user.role,
      user.email,
      user.phone,
      user.passwordHash,
      user.email !== null && user.emailConfirm,
      user.phone !== null && user.phoneConfirm,
      JSON.stringify({ provider: providers[0], providers, ...user.appMetadata }),
      JSON.stringify(metadata),
      user.banMs,
    ],
  );
  for (const [provider, value] of [['email', user.email], ['phone', user.phone]] as const) {
    if (!value) continue;
    await tx.query(`insert into auth.identities (id, provider_id, user_id, identity_data, provider) values ($1, $2::text, $2::uuid, $3, $4)`, [
      randomUUID(),
      user.id,
      JSON.stringify({ ...identityBase, [provider]: value }),
      provider,
    ]);
  }
  return null;
}

/** Who new accounts belong to and what role they get. */
export interface AccountDefaults {
  readonly audience: string;
  readonly role: string;
}

/** A new unconfirmed email account, as an admin invitation or generated link creates it. */
export interface NewEmailAccount {
  readonly email: string;
  /** `user_metadata`, stored exactly as given. */
  readonly metadata: Record<string, unknown>;
  /** A bcrypt hash, or `null` for an account without a password (an invited user sets one). */
  readonly passwordHash: string | null;
}

/**
 * Inserts an unconfirmed user with an `email` identity inside `tx`; returns the new id. The caller
 * checked that no live account has the address (a race still fails on the unique index).
 */
export async function insertEmailAccount(tx: Queryable, defaults: AccountDefaults, account: NewEmailAccount): Promise<string> {
  const id = randomUUID();
  await tx.query(
    `insert into auth.users (id, aud, role, email, encrypted_password, raw_app_meta_data, raw_user_meta_data)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [id, defaults.audience, defaults.role, account.email, account.passwordHash, JSON.stringify({ provider: 'email', providers: ['email'] }), JSON.stringify(account.metadata)],
  );
  await tx.query(`insert into auth.identities (id, provider_id, user_id, identity_data, provider) values ($1, $2::text, $2::uuid, $3, 'email')`, [
    randomUUID(),
    id,
    JSON.stringify({ sub: id, email: account.email, email_verified: false, phone_verified: false }),
  ]);
  return id;
}

/**
 * Inserts an unconfirmed, passwordless user with an `email` identity in one statement (an email
 * one-time code signs it up). `user_metadata` is `data` with the identity's facts. Throws the unique
 * violation when a live account has the address.
 */
export async function insertPasswordlessUser(db: Queryable, defaults: AccountDefaults, email: string, data: Record<string, unknown>): Promise<void> {
  const id = randomUUID();
  const identityData = { sub: id, email, email_verified: false, phone_verified: false };
  await db.query(
    `with u as (
       insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)
       values ($1, $2, $3, $4, $5, $6) returning id
     )
     insert into auth.identities (id, provider_id, user_id, identity_data, provider) select $7, $1, u.id, $8, 'email' from u`,
    [
      id,
      defaults.audience,
      defaults.role,
      email,
      JSON.stringify({ provider: 'email', providers: ['email'] }),
      JSON.stringify({ ...data, ...identityData }),
      randomUUID(),
      JSON.stringify(identityData),
    ],
  );
}

/** Inserts an anonymous user (no address, no identity) with this id. */
export async function insertAnonymousUser(tx: Queryable, defaults: AccountDefaults, id: string, data: Record<string, unknown>): Promise<void> {
  await tx.query(`insert into auth.users (id, aud, role, is_anonymous, raw_app_meta_data, raw_user_meta_data) values ($1, $2, $3, true, $4, $5)`, [
    id,
    defaults.audience,
    defaults.role,
    JSON.stringify({ provider: 'anonymous', providers: ['anonymous'] }),
    JSON.stringify(data),
  ]);
}

/** Sets the user's role. */
export async function setRole(tx: Queryable, id: string, role: string): Promise<void> {
  await tx.query('update auth.users set role = $2, updated_at = now() where id = $1', [id, role]);
}

/**
 * Sets the user's password hash. A pending email change is cleared unless `keepEmailChange` (the
 * change was asked for in the same request).
 */
export async function setPassword(tx: Queryable, id: string, hash: string, keepEmailChange = false): Promise<void> {
  await tx.query(
    `update auth.users set encrypted_password = $2, updated_at = now(),
            new_email = case when $3 then new_email end, email_change_sent_at = case when $3 then email_change_sent_at end
      where id = $1`,
    [id, hash, keepEmailChange],
  );
}

/** Sets the user's password hash, leaving everything else as it is. */
export async function replacePasswordHash(tx: Queryable, id: string, hash: string): Promise<void> {
  await tx.query('update auth.users set encrypted_password = $2, updated_at = now() where id = $1', [id, hash]);
}

/** Marks the user's email confirmed (the first confirmation stands) and `user_metadata.email_verified`. */
export async function markEmailConfirmed(tx: Queryable, id: string): Promise<void> {
  await tx.query(
    `update auth.users set email_confirmed_at = coalesce(email_confirmed_at, now()),
            raw_user_meta_data = raw_user_meta_data || '{"email_verified": true}'::jsonb, updated_at = now() where id = $1`,
    [id],
  );
}

/** Marks the address confirmed on the user and on its `email` identity (a followed link or a typed code proves it). */
export async function confirmEmail(tx: Queryable, id: string): Promise<void> {
  await markEmailConfirmed(tx, id);
  await tx.query(`update auth.identities set identity_data = identity_data || '{"email_verified": true}'::jsonb where user_id = $1 and provider = 'email'`, [id]);
}

/** Marks the user's phone confirmed (the first confirmation stands). */
export async function markPhoneConfirmed(tx: Queryable, id: string): Promise<void> {
  await tx.query('update auth.users set phone_confirmed_at = coalesce(phone_confirmed_at, now()), updated_at = now() where id = $1', [id]);
}

/** Sets the user's phone number as given (its confirmation unchanged). */
export async function setPhone(tx: Queryable, id: string, phone: string): Promise<void> {
  await tx.query('update auth.users set phone = $2, updated_at = now() where id = $1', [id, phone]);
}

/** The user's `user_metadata` as stored now; `undefined` when the user does not exist. */
export async function readUserMetadata(tx: Queryable, id: string): Promise<Record<string, unknown> | undefined> {
  const { rows } = await tx.query<{ raw_user_meta_data: Record<string, unknown> }>('select raw_user_meta_data from auth.users where id = $1', [id]);
  return rows[0]?.raw_user_meta_data;
}

/** Replaces the user's `user_metadata`. */
export async function setUserMetadata(tx: Queryable, id: string, metadata: Record<string, unknown>): Promise<void> {
  await tx.query('update auth.users set raw_user_meta_data = $2, updated_at = now() where id = $1', [id, JSON.stringify(metadata)]);
}

/** Replaces the user's `app_metadata`. */
export async function setAppMetadata(tx: Queryable, id: string, metadata: Record<string, unknown>): Promise<void> {
  await tx.query('update auth.users set raw_app_meta_data = $2, updated_at = now() where id = $1', [id, JSON.stringify(metadata)]);
}

/** Bans the user for `banMs` from now; 0 or less lifts a ban. */
export async function setBan(tx: Queryable, id: string, banMs: number): Promise<void> {
  await tx.query(`update auth.users set banned_until = case when $2::float8 > 0 then now() + make_interval(secs => $2::float8 / 1000) end, updated_at = now() where id = $1`, [
    id,
    banMs,
  ]);
}

/** Records that a confirmation mail was sent now. */
export async function markConfirmationSent(tx: Queryable, id: string): Promise<void> {
  await tx.query('update auth.users set confirmation_sent_at = now() where id = $1', [id]);
}

/** Records that the user was invited now (the invitation is also the confirmation mail). */
export async function markInvited(tx: Queryable, id: string): Promise<void> {
  await tx.query('update auth.users set invited_at = now(), confirmation_sent_at = now(), updated_at = now() where id = $1', [id]);
}

/** Deletes the user's row (identities, factors and sessions go with it); false when there was none. */
export async function deleteUser(tx: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await tx.query('delete from auth.users where id = $1', [id]);
  return rowCount > 0;
}

/**
 * Soft-deletes the user: its sessions and identities are deleted, its addresses, password and
 * `user_metadata` cleared, the row kept with `deleted_at`. False when it was deleted already.
 */
export async function softDeleteUser(tx: Queryable, id: string): Promise<boolean> {
  await deleteUserSessions(tx, id);
  await tx.query('delete from auth.identities where user_id = $1', [id]);
  const { rowCount } = await tx.query(
    `update auth.users set deleted_at = now(), updated_at = now(), email = null, phone = null, new_email = null,
            encrypted_password = null, raw_user_meta_data = '{}'::jsonb where id = $1 and deleted_at is null`,
    [id],
  );
  return rowCount > 0;
}

/**
 * Sets a user's email, keeping the email identity in step. With `confirmed` the address is confirmed
 * at once; otherwise it waits in `new_email` for confirmation.
 */
export async function changeEmail(tx: Queryable, userId: string, email: string, confirmed: boolean): Promise<void> {
  if (!confirmed) {
    await tx.query('update auth.users set new_email = $2, email_change_sent_at = now(), updated_at = now() where id = $1', [userId, email]);
    return;
  }
  await tx.query(
    `update auth.users set email = $2, email_confirmed_at = coalesce(email_confirmed_at, now()), new_email = null,
            raw_user_meta_data = case when raw_user_meta_data ? 'email' then jsonb_set(raw_user_meta_data, '{email}', to_jsonb($2::text)) else raw_user_meta_data end,
            updated_at = now()
      where id = $1`,
    [userId, email],
  );
  const updated = await tx.query(
    `update auth.identities set identity_data = jsonb_set(identity_data, '{email}', to_jsonb($2::text)), updated_at = now()
      where user_id = $1 and provider = 'email'`,
    [userId, email],
  );
  if (updated.rowCount === 0) await insertAddressIdentity(tx, userId, 'email', email);
}

/** Inserts the user's verified `email` or `phone` identity, and adds its provider to `app_metadata.providers`. */
async function insertAddressIdentity(tx: Queryable, userId: string, provider: 'email' | 'phone', address: string): Promise<void> {
  await tx.query(
    `insert into auth.identities (id, provider_id, user_id, identity_data, provider)
     values (gen_random_uuid(), $1::text, $1::uuid,
             jsonb_build_object('sub', $1::text, $3::text, $2::text, 'email_verified', $3::text = 'email', 'phone_verified', $3::text = 'phone'), $3::text)`,
    [userId, address, provider],
  );
  await addProvider(tx, userId, provider);
}

/** Adds `provider` to the user's `app_metadata.providers` unless it is listed already. */
export async function addProvider(tx: Queryable, userId: string, provider: string): Promise<void> {
  await tx.query(
    `update auth.users set raw_app_meta_data = jsonb_set(raw_app_meta_data, '{providers}',
            coalesce(raw_app_meta_data -> 'providers', '[]'::jsonb) || jsonb_build_array($2::text))
      where id = $1 and not coalesce(raw_app_meta_data -> 'providers', '[]'::jsonb) ? $2::text`,
    [userId, provider],
  );
}

/** The user's pending new address (`new_email`), its row locked (`for update`); `null` when none is pending. */
export async function lockPendingEmail(tx: Queryable, id: string): Promise<string | null> {
  const { rows } = await tx.query<{ new_email: string | null }>('select new_email from auth.users where id = $1 for update', [id]);
  return rows[0]?.new_email ?? null;
}

/** Ends a completed email change: no mail pending, and the user is no longer anonymous. */
export async function finishEmailChange(tx: Queryable, id: string): Promise<void> {
  await tx.query('update auth.users set email_change_sent_at = null, is_anonymous = false where id = $1', [id]);
}

/** A new phone account: its number, `user_metadata`, optional password hash, and whether the number is confirmed. */
export interface NewPhoneAccount {
  readonly phone: string;
  readonly data: Record<string, unknown>;
  readonly passwordHash: string | null;
  readonly confirmed: boolean;
}

/**
 * Inserts a user with a `phone` identity in one statement, unless a live account has the number
 * (`on conflict … do nothing`, so no error and the transaction stays usable). Whether it was inserted.
 */
export async function insertPhoneAccount(tx: Queryable, defaults: AccountDefaults, account: NewPhoneAccount): Promise<boolean> {
  const id = randomUUID();
  const identityData = { sub: id, phone: account.phone, email_verified: false, phone_verified: account.confirmed };
  const { rows } = await tx.query(
    `with u as (
       insert into auth.users (id, aud, role, phone, encrypted_password, phone_confirmed_at, raw_app_meta_data, raw_user_meta_data)
       values ($1, $2, $3, $4, $5, case when $6::boolean then now() end, $7, $8)
       on conflict (phone) where phone is not null and deleted_at is null do nothing returning id
     )
     insert into auth.identities (id, provider_id, user_id, identity_data, provider) select $9, $1, u.id, $10, 'phone' from u returning id`,
    [
      id,
      defaults.audience,
      defaults.role,
      account.phone,
      account.passwordHash,
      account.confirmed,
      JSON.stringify({ provider: 'phone', providers: ['phone'] }),
      JSON.stringify({ ...account.data, ...identityData }),
      randomUUID(),
      JSON.stringify(identityData),
    ],
  );
  return rows.length > 0;
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
  if (updated.rowCount === 0) await insertAddressIdentity(tx, userId, 'phone', phone);
}

/** The user's number; `null` when it has none or does not exist. */
export async function currentPhone(tx: Queryable, id: string): Promise<string | null> {
  const { rows } = await tx.query<{ phone: string | null }>('select phone from auth.users where id = $1', [id]);
  return rows[0]?.phone ?? null;
}

/** The user's pending new number (`phone_change`), its row locked (`for update`); `null` when none is pending. */
export async function lockPendingPhone(tx: Queryable, id: string): Promise<string | null> {
  const { rows } = await tx.query<{ phone_change: string | null }>('select phone_change from auth.users where id = $1 for update', [id]);
  return rows[0]?.phone_change ?? null;
}

/** Records a new number waiting for its texted code (`phone_change`), sent now. */
export async function setPendingPhone(db: Queryable, id: string, phone: string): Promise<void> {
  await db.query('update auth.users set phone_change = $2, phone_change_sent_at = now(), updated_at = now() where id = $1', [id, phone]);
}

/** The id of a live user waiting to change to this number; `null` when there is none. */
export async function userWithPendingPhone(db: Queryable, phone: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>('select id::text as id from auth.users where phone_change = $1 and deleted_at is null limit 1', [phone]);
  return rows[0]?.id ?? null;
}

/** The live users with any of these (lower-cased) emails. */
export async function findUsersByEmails(db: Queryable, emails: readonly string[]): Promise<UserRow[]> {
  if (emails.length === 0) return [];
  const { rows } = await db.query<UserRow>(`${SELECT_USERS} where u.email = any($1::text[]) and u.deleted_at is null`, [emails]);
  return rows;
}

/** When a live user's ban ends (`banned_until`, `null` when not banned); `undefined` when there is no such live user. */
export async function liveUserBan(tx: Queryable, id: string): Promise<Pick<UserRow, 'banned_until'> | undefined> {
  const { rows } = await tx.query<Pick<UserRow, 'banned_until'>>('select banned_until from auth.users where id = $1 and deleted_at is null', [id]);
  return rows[0];
}

/** The user's email; `null` when it has none, `undefined` when the user does not exist. */
export async function currentEmail(tx: Queryable, id: string): Promise<string | null | undefined> {
  const { rows } = await tx.query<{ email: string | null }>('select email from auth.users where id = $1', [id]);
  return rows[0] ? rows[0].email : undefined;
}

/** A new account of an external provider, its address confirmed by the provider. */
export interface NewProviderAccount {
  readonly id: string;
  readonly email: string;
  readonly provider: string;
  /** `user_metadata`: the provider identity's data. */
  readonly data: Record<string, unknown>;
}

/** Inserts a user signed up through an external provider (its identity is inserted by the caller). */
export async function insertProviderAccount(tx: Queryable, defaults: AccountDefaults, account: NewProviderAccount): Promise<void> {
  await tx.query(
    `insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
     values ($1, $2, $3, $4, now(), $5, $6)`,
    [account.id, defaults.audience, defaults.role, account.email, JSON.stringify({ provider: account.provider, providers: [account.provider] }), JSON.stringify(account.data)],
  );
}

/** Takes an account over for a provider that verified its address: the password goes, the address counts as confirmed. */
export async function clearPasswordConfirmingEmail(tx: Queryable, id: string): Promise<void> {
  await tx.query(`update auth.users set encrypted_password = null, email_confirmed_at = now() where id = $1`, [id]);
}

/** Gives an account without an address a confirmed one; the account is no longer anonymous. */
export async function adoptConfirmedEmail(tx: Queryable, id: string, email: string): Promise<void> {
  await tx.query('update auth.users set email = $2, email_confirmed_at = now(), is_anonymous = false where id = $1', [id, email]);
}

/**
 * Replaces the user's address (`null`: none) and cancels a pending change. Unless `confirmed`, the
 * address is unconfirmed and `user_metadata.email_verified` false.
 */
export async function replaceEmail(tx: Queryable, id: string, email: string | null, confirmed: boolean): Promise<void> {
  await tx.query(
    `update auth.users
        set email = $2, new_email = null,
            email_confirmed_at = case when $3::boolean then email_confirmed_at end,
            raw_user_meta_data = case when $3::boolean then raw_user_meta_data else raw_user_meta_data || '{"email_verified": false}'::jsonb end,
            updated_at = now()
      where id = $1`,
    [id, email, confirmed],
  );
}

/**
 * Brings `app_metadata.providers` in line with the user's identities (and sets `provider` when the
 * user has none), and merges `data` into `user_metadata`.
 */
export async function syncProviders(tx: Queryable, userId: string, provider: string, data: Record<string, unknown> = {}): Promise<void> {
  await tx.query(
    `update auth.users
        set raw_app_meta_data = jsonb_build_object('provider', $2::text) || raw_app_meta_data
              || jsonb_build_object('providers', coalesce((select jsonb_agg(distinct i.provider) from auth.identities i where i.user_id = $1), '[]'::jsonb)),
            raw_user_meta_data = raw_user_meta_data || $3::jsonb,
            updated_at = now()
      where id = $1`,
    [userId, provider, JSON.stringify(data)],
  );
}

/**
 * A live user with whether `sessionId` (`null`: no session named) is one of its sessions still in
 * force (not ended, not past `not_after`, its refresh token not reused), in one query; `null` when
 * there is no such live user.
 */
export async function findUserWithSession(db: Queryable, userId: string, sessionId: string | null): Promise<(UserRow & { session_found: boolean }) | null> {
  const { rows } = await db.query<UserRow & { session_found: boolean }>(
    `select ${USER_SELECT}, ($2::uuid is null or exists (
         select 1 from auth.sessions s
          where s.id = $2::uuid and s.user_id = u.id and s.reuse_detected_at is null and (s.not_after is null or s.not_after > now())
       )) as session_found
       from auth.users u where u.id = $1 and u.deleted_at is null`,
    [userId, sessionId],
  );
  return rows[0] ?? null;
}

/** A user signing up with an e-mail address and password, as `/signup` stores them. */
export interface EmailSignUp {
  readonly id: string;
  readonly audience: string;
  readonly role: string;
  readonly email: string;
  readonly passwordHash: string;
  /** Whether the address counts as confirmed at once (autoconfirm). */
  readonly confirmed: boolean;
  readonly userMetadata: Record<string, unknown>;
  readonly identityData: Record<string, unknown>;
}

/** Inserts the user and their `email` identity in one statement; a taken address raises a unique violation. */
export async function insertEmailSignUp(tx: Queryable, user: EmailSignUp): Promise<void> {
  await tx.query(
    `with u as (
       insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
       values ($1, $2, $3, $4, $5, case when $6::boolean then now() end, $7, $8) returning id
     )
     insert into auth.identities (id, provider_id, user_id, identity_data, provider)
     select $9, $1, u.id, $10, 'email' from u`,
    [
      user.id,
      user.audience,
      user.role,
      user.email,
      user.passwordHash,
      user.confirmed,
      JSON.stringify({ provider: 'email', providers: ['email'] }),
      JSON.stringify(user.userMetadata),
      randomUUID(),
      JSON.stringify(user.identityData),
    ],
  );
}
