import type { Queryable } from '../db/index.js';
import { IdentityError, Messages, validationFailed } from './errors.js';
import { factorJson } from './mfa/factors.js';
import { findUserById } from './store/users.js';
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

/** The user an admin route names by id: 400 `validation_failed` for a malformed id, 404 `user_not_found`. */
export async function adminTargetUser(db: Queryable, id: string): Promise<UserRow> {
  if (!isUuid(id)) throw validationFailed('user_id must be an UUID');
  const user = await findUserById(db, id.toLowerCase());
  if (!user) throw new IdentityError(404, 'user_not_found', Messages.userNotFound);
  return user;
}
