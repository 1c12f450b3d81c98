import type { Queryable } from '../../db/index.js';

/** Statements on `auth.identities`: the ways into an account (email, phone, external providers). */

/** How many identities the user has. */
export async function countIdentities(tx: Queryable, userId: string): Promise<number> {
  const { rows } = await tx.query<{ count: string }>('select count(*)::text as count from auth.identities where user_id = $1', [userId]);
  return Number(rows[0]?.count ?? 0);
}

/** Deletes one identity of the user. */
export async function deleteIdentity(tx: Queryable, userId: string, identityId: string): Promise<void> {
  await tx.query('delete from auth.identities where id = $1 and user_id = $2', [identityId, userId]);
}

/** Deletes the user's `email` identity. */
export async function deleteEmailIdentity(tx: Queryable, userId: string): Promise<void> {
  await tx.query(`delete from auth.identities where user_id = $1 and provider = 'email'`, [userId]);
}

/** An external provider's identity to store, signed in with now. */
export interface NewProviderIdentity {
  readonly id: string;
  readonly userId: string;
  readonly provider: string;
  /** The provider's subject (`provider_id`). */
  readonly subject: string;
  readonly data: Record<string, unknown>;
}

/** Stores an external provider's identity, signed in with now. */
export async function insertProviderIdentity(tx: Queryable, identity: NewProviderIdentity): Promise<void> {
  await tx.query(`insert into auth.identities (id, provider_id, user_id, identity_data, provider, last_sign_in_at) values ($1, $2, $3, $4, $5, now())`, [
    identity.id,
    identity.subject,
    identity.userId,
    JSON.stringify(identity.data),
    identity.provider,
  ]);
}

/** The user the identity of `provider` with this subject belongs to; `null` when it is unknown. */
export async function identityOwner(tx: Queryable, provider: string, subject: string): Promise<string | null> {
  const { rows } = await tx.query<{ user_id: string }>('select user_id from auth.identities where provider = $1 and provider_id = $2', [provider, subject]);
  return rows[0]?.user_id ?? null;
}

/** Replaces the identity data of the identity of `provider` with this subject. */
export async function setIdentityData(tx: Queryable, provider: string, subject: string, data: Record<string, unknown>): Promise<void> {
  await tx.query('update auth.identities set identity_data = $3, updated_at = now() where provider = $1 and provider_id = $2', [provider, subject, JSON.stringify(data)]);
}

/**
 * The addresses of the user's identities, best candidate first for taking over the account's address:
 * provider-verified, then unverified, then none; oldest first within each.
 */
export async function identityEmails(tx: Queryable, userId: string): Promise<{ email: string | null; verified: boolean }[]> {
  const { rows } = await tx.query<{ email: string | null; verified: boolean }>(
    `select email, coalesce((identity_data ->> 'email_verified')::boolean, false) as verified
       from auth.identities where user_id = $1
      order by case when email is null or email = '' then 2 when coalesce((identity_data ->> 'email_verified')::boolean, false) then 0 else 1 end,
               created_at, id`,
    [userId],
  );
  return rows;
}
