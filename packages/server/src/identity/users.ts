import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/index.js';
import { IdentityError, Messages, validationFailed } from './errors.js';
import { factorJson } from './mfa/factors.js';
import type { AppMetadata, IdentityJson, UserJson } from './types.js';

/** A row of `auth.users` with its identities aggregated (as JSON). */
export interface UserRow {
  id: string;
  aud: string;
  role: string;
  email: string | null;
  encrypted_password: string | null;
  email_confirmed_at: Date | null;
  confirmation_sent_at: Date | null;
  new_email: string | null;
  email_change_sent_at: Date | null;
  phone: string | null;
  phone_confirmed_at: Date | null;
  /** A new number waiting for its texted code. */
  phone_change: string | null;
  phone_change_sent_at: Date | null;
  last_sign_in_at: Date | null;
  invited_at: Date | null;
  raw_app_meta_data: AppMetadata;
  raw_user_meta_data: Record<string, unknown>;
  banned_until: Date | null;
  is_anonymous: boolean;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  identities: IdentityRowJson[] | null;
  /** Second factors, as `to_jsonb` renders them (secrets left out by the query). */
  factors?: FactorRowJson[] | null;
  [column: string]: unknown;
}

/** An identity as the user query renders it in JSON (timestamps as strings). */
interface IdentityRowJson {
  id: string;
  provider_id: string;
  user_id: string;
  identity_data: Record<string, unknown>;
  provider: string;
  last_sign_in_at: string | null;
  created_at: string;
  updated_at: string;
  email: string | null;
}

/** A second factor as the user query aggregates it. */
interface FactorRowJson {
  id: string;
  friendly_name: string;
  factor_type: string;
  status: string;
  created_at: string;
  updated_at: string;
  last_challenged_at: string | null;
}

/** The select list of a user row, `u` being `auth.users`, identities included. */
export const USER_SELECT = `u.id, u.aud, u.role, u.email, u.encrypted_password, u.email_confirmed_at, u.confirmation_sent_at,
  u.new_email, u.email_change_sent_at, u.phone, u.phone_confirmed_at, u.phone_change, u.phone_change_sent_at, u.last_sign_in_at, u.invited_at, u.raw_app_meta_data,
  u.raw_user_meta_data, u.banned_until, u.is_anonymous, u.created_at, u.updated_at, u.deleted_at,
  (select jsonb_agg(jsonb_build_object('id', i.id, 'provider_id', i.provider_id, 'user_id', i.user_id, 'identity_data', i.identity_data,
     'provider', i.provider, 'last_sign_in_at', i.last_sign_in_at, 'created_at', i.created_at, 'updated_at', i.updated_at, 'email', i.email)
     order by i.created_at) from auth.identities i where i.user_id = u.id) as identities,
  (select jsonb_agg(jsonb_build_object('id', f.id, 'friendly_name', f.friendly_name, 'factor_type', f.factor_type, 'status', f.status,
     'created_at', f.created_at, 'updated_at', f.updated_at, 'last_challenged_at', f.last_challenged_at) order by f.created_at)
     from auth.mfa_factors f where f.user_id = u.id) as factors`;

function iso(value: Date | string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function identityJson(row: IdentityRowJson): IdentityJson {
  const json: IdentityJson = {
    identity_id: row.id,
    id: row.provider_id,
    user_id: row.user_id,
    identity_data: row.identity_data,
    provider: row.provider,
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
  const lastSignIn = iso(row.last_sign_in_at);
  if (lastSignIn) json.last_sign_in_at = lastSignIn;
  if (row.email) json.email = row.email;
  return json;
}

/** The user as the API shows it: `email`/`phone` are `""` when unset, optional timestamps only when set. */
export function userJson(row: UserRow): UserJson {
  const json: UserJson = {
    id: row.id,
    aud: row.aud,
    role: row.role,
    email: row.email ?? '',
    phone: row.phone ?? '',
    app_metadata: row.raw_app_meta_data,
    user_metadata: row.raw_user_meta_data,
    identities: (row.identities ?? []).map(identityJson),
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
    is_anonymous: row.is_anonymous,
  };
  const optional: [keyof UserJson, Date | null][] = [
    ['email_confirmed_at', row.email_confirmed_at],
    ['phone_confirmed_at', row.phone_confirmed_at],
    ['invited_at', row.invited_at],
    ['confirmation_sent_at', row.confirmation_sent_at],
    ['confirmed_at', row.email_confirmed_at ?? row.phone_confirmed_at],
    ['email_change_sent_at', row.email_change_sent_at],
    ['phone_change_sent_at', row.phone_change_sent_at],
    ['last_sign_in_at', row.last_sign_in_at],
    ['banned_until', row.banned_until],
    ['deleted_at', row.deleted_at],
  ];
  const target = json as unknown as Record<string, unknown>;
  for (const [key, value] of optional) if (value) target[key] = iso(value);
  if (row.new_email) json.new_email = row.new_email;
  if (row.phone_change) json.new_phone = row.phone_change;
  if (row.factors && row.factors.length > 0) json.factors = row.factors.map(factorJson);
  return json;
}

/** Loads a user (identities included) by id; `null` when absent. */
export async function findUserById(db: Queryable, id: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`select ${USER_SELECT} from auth.users u where u.id = $1`, [id]);
  return rows[0] ?? null;
}

/** Loads a live user by (lower-cased) email; `null` when absent. */
export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`select ${USER_SELECT} from auth.users u where u.email = $1 and u.deleted_at is null`, [email]);
  return rows[0] ?? null;
}

/** Loads a live user by phone; `null` when absent. */
export async function findUserByPhone(db: Queryable, phone: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`select ${USER_SELECT} from auth.users u where u.phone = $1 and u.deleted_at is null`, [phone]);
  return rows[0] ?? null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Whether the user is banned right now. */
export function isBanned(row: Pick<UserRow, 'banned_until'>, now = Date.now()): boolean {
  return row.banned_until !== null && row.banned_until.getTime() > now;
}

/** Whether `error` is PostgreSQL's unique violation on the named index. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint: name, message } = error as { code?: string; constraint?: string; message?: string };
  if (code !== '23505') return false;
  return constraint === undefined || name === constraint || (message ?? '').includes(constraint);
}

/**
 * Sets a user's email, keeping the email identity in step. With autoconfirm the address is confirmed
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
  if (updated.rowCount === 0) {
    await tx.query(
      `insert into auth.identities (id, provider_id, user_id, identity_data, provider)
       values (gen_random_uuid(), $1::text, $1::uuid, jsonb_build_object('sub', $1::text, 'email', $2::text, 'email_verified', true, 'phone_verified', false), 'email')`,
      [userId, email],
    );
    await addProvider(tx, userId, 'email');
  }
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

/** The user an admin route names by id: 400 `validation_failed` for a malformed id, 404 `user_not_found`. */
export async function adminTargetUser(db: Queryable, id: string): Promise<UserRow> {
  if (!isUuid(id)) throw validationFailed('user_id must be an UUID');
  const user = await findUserById(db, id.toLowerCase());
  if (!user) throw new IdentityError(404, 'user_not_found', Messages.userNotFound);
  return user;
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
  if (user.email && (await tx.query('select 1 from auth.users where email = $1 and deleted_at is null', [user.email])).rows.length > 0) return 'email';
  if (user.phone && (await tx.query('select 1 from auth.users where phone = $1 and deleted_at is null', [user.phone])).rows.length > 0) return 'phone';
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
