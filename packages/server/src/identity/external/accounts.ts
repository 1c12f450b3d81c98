import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { IdentityError, Messages } from '../errors.js';
import type { IdentitySettings } from '../settings.js';
import { isBanned, type UserRow } from '../users.js';
import { USER_SELECT } from '../store/users.js';
import type { ProviderEmail, ProviderProfile } from './providers.js';

/** What the account matching needs to know of the service's settings. */
export type AccountSettings = Pick<IdentitySettings, 'audience' | 'defaultRole' | 'disableSignup' | 'mailerAutoconfirm'>;

/** The address an account is created with: a verified primary, else any verified one, else the primary. */
function candidateEmail(emails: readonly ProviderEmail[]): ProviderEmail | undefined {
  return (
    emails.find((email) => email.primary && email.verified) ??
    emails.find((email) => email.verified) ??
    emails.find((email) => email.primary) ??
    emails[emails.length - 1]
  );
}

function needsVerification(provider: string): IdentityError {
  return new IdentityError(422, 'provider_email_needs_verification', `Unverified email with ${provider}. Verify the email with ${provider} in order to sign in`);
}

/** GoTrue's identity data: the provider's claims with the chosen address and whether it is verified. */
function identityData(profile: ProviderProfile): Record<string, unknown> {
  const chosen = candidateEmail(profile.emails);
  const data: Record<string, unknown> = { ...profile.claims, sub: profile.subject, email_verified: chosen?.verified ?? false, phone_verified: false };
  if (chosen) data.email = chosen.email.toLowerCase();
  return data;
}

async function insertIdentity(tx: Queryable, userId: string, provider: string, profile: ProviderProfile, data: Record<string, unknown>): Promise<string> {
  const id = randomUUID();
  await tx.query(
    `insert into auth.identities (id, provider_id, user_id, identity_data, provider, last_sign_in_at) values ($1, $2, $3, $4, $5, now())`,
    [id, profile.subject, userId, JSON.stringify(data), provider],
  );
  return id;
}

/** The account a sign-in resolved to, and what happened to it (for the audit log). */
export interface ResolvedAccount {
  readonly userId: string;
  /** `created`: a new account; `linked`: a new identity joined it; `known`: the identity was known. */
  readonly outcome: 'created' | 'linked' | 'known';
  /** The new identity's row id (`created` and `linked`). */
  readonly identityId?: string;
}

/**
 * Brings `app_metadata.providers` in line with the user's identities (and sets `provider` when the
 * user has none), and merges the identity data into `user_metadata`, as GoTrue does at every sign-in.
 */
export async function syncProviders(tx: Queryable, userId: string, provider: string, data?: Record<string, unknown>): Promise<void> {
  await tx.query(
    `update auth.users
        set raw_app_meta_data = jsonb_build_object('provider', $2::text) || raw_app_meta_data
              || jsonb_build_object('providers', coalesce((select jsonb_agg(distinct i.provider) from auth.identities i where i.user_id = $1), '[]'::jsonb)),
            raw_user_meta_data = raw_user_meta_data || $3::jsonb,
            updated_at = now()
      where id = $1`,
    [userId, provider, JSON.stringify(data ?? {})],
  );
}

async function usersWithEmails(tx: Queryable, emails: readonly string[]): Promise<UserRow[]> {
  if (emails.length === 0) return [];
  const { rows } = await tx.query<UserRow>(`select ${USER_SELECT} from auth.users u where u.email = any($1::text[]) and u.deleted_at is null`, [emails]);
  return rows;
}

/**
 * Links an identity to an existing account whose address the provider verified. An account whose own
 * address was never confirmed loses its password and email identity first: whoever signed it up
 * without owning the address cannot keep a way in (GoTrue's pre-account-takeover rule).
 */
async function linkByEmail(tx: Queryable, user: UserRow, provider: string, profile: ProviderProfile, data: Record<string, unknown>): Promise<ResolvedAccount> {
  if (!user.email_confirmed_at) {
    await tx.query(`delete from auth.identities where user_id = $1 and provider = 'email'`, [user.id]);
    await tx.query(`update auth.users set encrypted_password = null, email_confirmed_at = now() where id = $1`, [user.id]);
  }
  const identityId = await insertIdentity(tx, user.id, provider, profile, data);
  await syncProviders(tx, user.id, provider, data);
  return { userId: user.id, outcome: 'linked', identityId };
}

async function createAccount(tx: Queryable, settings: AccountSettings, provider: string, profile: ProviderProfile, data: Record<string, unknown>): Promise<ResolvedAccount> {
  if (settings.disableSignup) throw new IdentityError(422, 'signup_disabled', Messages.signupDisabled);
  const chosen = candidateEmail(profile.emails);
  if (!chosen) throw new IdentityError(500, 'unexpected_failure', 'Error getting user email from external provider');
  const email = chosen.email.toLowerCase();
  // An unverified address never joins an existing account, and opens a new one only under autoconfirm.
  if (!chosen.verified) {
    const taken = await usersWithEmails(tx, [email]);
    if (taken.length > 0 || !settings.mailerAutoconfirm) throw needsVerification(provider);
  }
  const id = randomUUID();
  await tx.query(
    `insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
     values ($1, $2, $3, $4, now(), $5, $6)`,
    [id, settings.audience, settings.defaultRole, email, JSON.stringify({ provider, providers: [provider] }), JSON.stringify(data)],
  );
  return { userId: id, outcome: 'created', identityId: await insertIdentity(tx, id, provider, profile, data) };
}

/**
 * Linking to an account without an address (an anonymous one, say): the account takes the provider's
 * address when the provider verified it, and stops being anonymous. 422
 * `provider_email_needs_verification` when it did not; 422 `email_exists` when another account has it.
 */
async function adoptEmail(tx: Queryable, userId: string, provider: string, profile: ProviderProfile): Promise<void> {
  const { rows } = await tx.query<{ email: string | null }>('select email from auth.users where id = $1', [userId]);
  if (!rows[0] || rows[0].email !== null) return;
  const chosen = candidateEmail(profile.emails);
  if (!chosen) return;
  if (!chosen.verified) throw needsVerification(provider);
  const email = chosen.email.toLowerCase();
  if ((await usersWithEmails(tx, [email])).length > 0) throw new IdentityError(422, 'email_exists', Messages.emailExists);
  await tx.query('update auth.users set email = $2, email_confirmed_at = now(), is_anonymous = false where id = $1', [userId, email]);
}

/**
 * After an identity was unlinked: when no remaining identity carries the account's address, the account
 * takes the address of a remaining one (provider-verified first, then unverified, then oldest) that no
 * other account uses; pending one-time tokens end. The address stays confirmed only when the provider
 * verified it or autoconfirm is on. 422 `email_conflict_identity_not_deletable` when every candidate is taken.
 */
export async function promoteEmailAfterUnlink(tx: Queryable, userId: string, autoconfirm: boolean): Promise<void> {
  const { rows: users } = await tx.query<{ email: string | null }>('select email from auth.users where id = $1', [userId]);
  const current = users[0]?.email ?? null;
  if (current === null) return;
  const { rows: identities } = await tx.query<{ email: string | null; verified: boolean }>(
    `select email, coalesce((identity_data ->> 'email_verified')::boolean, false) as verified
       from auth.identities where user_id = $1
      order by case when email is null or email = '' then 2 when coalesce((identity_data ->> 'email_verified')::boolean, false) then 0 else 1 end,
               created_at, id`,
    [userId],
  );
  if (identities.some((identity) => identity.email === current)) return;
  let chosen: { email: string | null; verified: boolean } | undefined;
  for (const identity of identities) {
    const taken = identity.email ? await tx.query('select 1 from auth.users where email = $1 and id <> $2 and deleted_at is null', [identity.email, userId]) : { rows: [] };
    if (taken.rows.length === 0) {
      chosen = identity;
      break;
    }
  }
  if (!chosen) throw new IdentityError(422, 'email_conflict_identity_not_deletable', 'Unable to unlink identity due to email conflict');
  const email = chosen.email === '' ? null : chosen.email;
  const confirmed = email !== null && (chosen.verified || autoconfirm);
  await tx.query('delete from auth.one_time_tokens where user_id = $1', [userId]);
  await tx.query(
    `update auth.users
        set email = $2, new_email = null,
            email_confirmed_at = case when $3::boolean then email_confirmed_at end,
            raw_user_meta_data = case when $3::boolean then raw_user_meta_data else raw_user_meta_data || '{"email_verified": false}'::jsonb end,
            updated_at = now()
      where id = $1`,
    [userId, email, confirmed],
  );
}

function refuseBanned(user: Pick<UserRow, 'banned_until'> | undefined): void {
  if (user && isBanned(user)) throw new IdentityError(403, 'user_banned', Messages.userBanned);
}

/**
 * The account a provider's user signs in to, inside `tx`:
 *  - linking (`linkIdentity`): the identity joins the signed-in user, unless it already belongs to
 *    someone (422 `identity_already_exists`);
 *  - an identity already known (same provider and subject): its user, identity data refreshed;
 *  - else an account whose address matches one the provider VERIFIED: the identity is linked to it;
 *  - else a new account. An unverified address never matches an existing account: such a sign-in is
 *    refused with 422 `provider_email_needs_verification`, as it is without autoconfirm.
 * Banned users are refused (403 `user_banned`); new accounts need sign-ups enabled (422 `signup_disabled`).
 */
export async function resolveAccount(
  tx: Queryable,
  settings: AccountSettings,
  provider: string,
  profile: ProviderProfile,
  linkingTargetId: string | null,
): Promise<ResolvedAccount> {
  const data = identityData(profile);
  const { rows: known } = await tx.query<{ user_id: string }>('select user_id from auth.identities where provider = $1 and provider_id = $2', [provider, profile.subject]);
  const existing = known[0];
  if (linkingTargetId !== null) {
    if (existing) {
      throw new IdentityError(422, 'identity_already_exists', existing.user_id === linkingTargetId ? 'Identity is already linked' : 'Identity is already linked to another user');
    }
    const identityId = await insertIdentity(tx, linkingTargetId, provider, profile, data);
    await adoptEmail(tx, linkingTargetId, provider, profile);
    await syncProviders(tx, linkingTargetId, provider);
    return { userId: linkingTargetId, outcome: 'linked', identityId };
  }
  if (existing) {
    const { rows } = await tx.query<Pick<UserRow, 'banned_until'>>('select banned_until from auth.users where id = $1 and deleted_at is null', [existing.user_id]);
    if (!rows[0]) throw new IdentityError(404, 'user_not_found', Messages.userNotFound);
    refuseBanned(rows[0]);
    await tx.query('update auth.identities set identity_data = $3, updated_at = now() where provider = $1 and provider_id = $2', [provider, profile.subject, JSON.stringify(data)]);
    await syncProviders(tx, existing.user_id, provider, data);
    return { userId: existing.user_id, outcome: 'known' };
  }
  const verified = [...new Set(profile.emails.filter((email) => email.verified).map((email) => email.email.toLowerCase()))];
  const matches = await usersWithEmails(tx, verified);
  if (matches.length > 1) throw new IdentityError(500, 'unexpected_failure', 'Multiple accounts with the same email address in the same linking domain detected: default');
  if (matches.length === 1) {
    refuseBanned(matches[0]);
    return linkByEmail(tx, matches[0]!, provider, profile, data);
  }
  return createAccount(tx, settings, provider, profile, data);
}
