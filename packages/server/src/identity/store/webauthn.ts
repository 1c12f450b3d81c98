import { randomUUID } from 'node:crypto';
import type { WebAuthnCredential } from '@simplewebauthn/server';
import type { Queryable } from '../../db/index.js';
import type { ChallengeBinding, ChallengeType, ConsumedChallenge } from '../webauthn/challenges.js';

/**
 * Statements on `auth.webauthn_credentials` (passkeys, whose `factor_id` is null, and the credentials
 * of WebAuthn second factors) and `auth.webauthn_challenges`. A challenge and a counter are each used
 * in one statement, so two requests cannot both succeed with them.
 */

/** A row of `auth.webauthn_credentials`. */
export interface CredentialRow {
  [column: string]: unknown;
  id: string;
  user_id: string;
  factor_id: string | null;
  credential_id: Uint8Array;
  public_key: Uint8Array;
  sign_count: string | number;
  transports: string[];
  friendly_name: string;
  created_at: Date;
  last_used_at: Date | null;
}

/** The passkeys of a user (`factorId` null) or the credential of one second factor, oldest first. */
export async function listCredentials(db: Queryable, userId: string, factorId: string | null = null): Promise<CredentialRow[]> {
  const { rows } = await db.query<CredentialRow>(
    'select * from auth.webauthn_credentials where user_id = $1 and factor_id is not distinct from $2::uuid order by created_at, id',
    [userId, factorId],
  );
  return rows;
}

/** Every WebAuthn credential of a user, passkeys and second factors (to exclude them from a new registration). */
export async function allCredentials(db: Queryable, userId: string): Promise<CredentialRow[]> {
  const { rows } = await db.query<CredentialRow>('select * from auth.webauthn_credentials where user_id = $1 order by created_at, id', [userId]);
  return rows;
}

/** One passkey of a user; `null` when absent or someone else's. */
export async function findPasskey(db: Queryable, userId: string, id: string): Promise<CredentialRow | null> {
  const { rows } = await db.query<CredentialRow>('select * from auth.webauthn_credentials where id = $1 and user_id = $2 and factor_id is null', [id, userId]);
  return rows[0] ?? null;
}

/** The passkey with this credential id (base64url, as the authenticator reports it); never a second factor's. */
export async function findPasskeyByCredentialId(db: Queryable, credentialId: string): Promise<CredentialRow | null> {
  const { rows } = await db.query<CredentialRow>('select * from auth.webauthn_credentials where credential_id = $1 and factor_id is null', [Buffer.from(credentialId, 'base64url')]);
  return rows[0] ?? null;
}

/** What a verified registration adds. */
export interface NewCredential {
  readonly userId: string;
  readonly factorId: string | null;
  readonly credential: WebAuthnCredential;
  readonly aaguid: string;
  readonly attestationType: string;
  readonly backupEligible: boolean;
  readonly backedUp: boolean;
  readonly friendlyName: string;
}

/** Stores a credential; throws the database's unique violation when the credential id is registered already. */
export async function insertCredential(db: Queryable, input: NewCredential): Promise<CredentialRow> {
  const aaguid = /^[0-9a-f-]{36}$/i.test(input.aaguid) && !/^[0-]+$/.test(input.aaguid) ? input.aaguid : null;
  const { rows } = await db.query<CredentialRow>(
    `insert into auth.webauthn_credentials (id, user_id, factor_id, credential_id, public_key, attestation_type, aaguid, sign_count, transports,
       backup_eligible, backed_up, friendly_name)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) returning *`,
    [
      randomUUID(),
      input.userId,
      input.factorId,
      Buffer.from(input.credential.id, 'base64url'),
      Buffer.from(input.credential.publicKey),
      input.attestationType,
      aaguid,
      input.credential.counter,
      JSON.stringify(input.credential.transports ?? []),
      input.backupEligible,
      input.backedUp,
      input.friendlyName,
    ],
  );
  return rows[0]!;
}

/**
 * Records a verified assertion's counter, in one statement: only when it is above the stored one (or
 * both are 0, for authenticators without a counter). False when another assertion got there first with
 * the same or a higher counter: the caller refuses.
 */
export async function recordUse(db: Queryable, id: string, newCounter: number): Promise<boolean> {
  const { rows } = await db.query(
    `update auth.webauthn_credentials set sign_count = $2, last_used_at = now(), updated_at = now()
      where id = $1 and (sign_count < $2 or (sign_count = 0 and $2 = 0)) returning id`,
    [id, newCounter],
  );
  return rows.length > 0;
}

/** How many passkeys the user has (second factors' credentials not counted). */
export async function countPasskeys(tx: Queryable, userId: string): Promise<number> {
  const { rows } = await tx.query<{ count: string }>('select count(*)::text as count from auth.webauthn_credentials where user_id = $1 and factor_id is null', [userId]);
  return Number(rows[0]!.count);
}

/** Renames one passkey of the user; the updated row, or `null` when the user has no such passkey. */
export async function renamePasskey(tx: Queryable, userId: string, id: string, friendlyName: string): Promise<CredentialRow | null> {
  const { rows } = await tx.query<CredentialRow>(
    `update auth.webauthn_credentials set friendly_name = $3, updated_at = now() where id = $1 and user_id = $2 and factor_id is null returning *`,
    [id, userId, friendlyName],
  );
  return rows[0] ?? null;
}

/** Deletes a credential. */
export async function deleteCredential(tx: Queryable, id: string): Promise<void> {
  await tx.query('delete from auth.webauthn_credentials where id = $1', [id]);
}

/** Stores a ceremony challenge answerable for `expirySeconds`; answers when it expires. Challenges expired for an hour are deleted first. */
export async function insertChallenge(
  db: Queryable,
  id: string,
  type: ChallengeType,
  challenge: string,
  binding: ChallengeBinding,
  expirySeconds: number,
): Promise<Date> {
  await db.query(`delete from auth.webauthn_challenges where expires_at < now() - interval '1 hour'`);
  const { rows } = await db.query<{ expires_at: Date }>(
    `insert into auth.webauthn_challenges (id, user_id, session_id, factor_id, challenge_type, challenge, expires_at)
     values ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) returning expires_at`,
    [id, binding.userId, binding.sessionId, binding.factorId, type, challenge, expirySeconds],
  );
  return rows[0]!.expires_at;
}

/**
 * Takes the challenge `id` out of the store (one statement, so it answers once) if it is of `type` and
 * bound exactly as `binding` says; `null` otherwise (unknown, used, or another user's, session's or
 * factor's). An expired challenge is taken out too, and reported `expired`.
 */
export async function consumeChallenge(db: Queryable, id: string, type: ChallengeType, binding: ChallengeBinding): Promise<ConsumedChallenge | null> {
  const { rows } = await db.query<{ challenge: string; expired: boolean }>(
    `delete from auth.webauthn_challenges
      where id = $1 and challenge_type = $2 and user_id is not distinct from $3::uuid
        and session_id is not distinct from $4::uuid and factor_id is not distinct from $5::uuid
      returning challenge, expires_at < now() as expired`,
    [id, type, binding.userId, binding.sessionId, binding.factorId],
  );
  return rows[0] ?? null;
}
