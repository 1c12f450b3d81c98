import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import type { IdentityRuntime } from '../runtime.js';

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
export async function insertEmailAccount(tx: Queryable, runtime: IdentityRuntime, account: NewEmailAccount): Promise<string> {
  const id = randomUUID();
  await tx.query(
    `insert into auth.users (id, aud, role, email, encrypted_password, raw_app_meta_data, raw_user_meta_data)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [
      id,
      runtime.settings.audience,
      runtime.settings.defaultRole,
      account.email,
      account.passwordHash,
      JSON.stringify({ provider: 'email', providers: ['email'] }),
      JSON.stringify(account.metadata),
    ],
  );
  await tx.query(`insert into auth.identities (id, provider_id, user_id, identity_data, provider) values ($1, $2::text, $2::uuid, $3, 'email')`, [
    randomUUID(),
    id,
    JSON.stringify({ sub: id, email: account.email, email_verified: false, phone_verified: false }),
  ]);
  return id;
}
