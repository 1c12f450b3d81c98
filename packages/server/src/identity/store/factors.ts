import type { Queryable } from '../../db/index.js';

/** Statements on `auth.mfa_factors` and `auth.mfa_challenges`: second factors and their TOTP challenges. */

/** A row of `auth.mfa_factors`. */
export interface FactorRow {
  [column: string]: unknown;
  id: string;
  user_id: string;
  friendly_name: string;
  factor_type: 'totp' | 'webauthn';
  status: 'unverified' | 'verified';
  secret: string;
  last_used_step: number | null;
  last_challenged_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The factors of a user, oldest first. */
export async function listFactors(db: Queryable, userId: string): Promise<FactorRow[]> {
  const { rows } = await db.query<FactorRow>('select * from auth.mfa_factors where user_id = $1 order by created_at, id', [userId]);
  return rows;
}

/** One factor of a user; `null` when it does not exist or belongs to someone else. */
export async function findFactor(db: Queryable, userId: string, factorId: string): Promise<FactorRow | null> {
  const { rows } = await db.query<FactorRow>('select * from auth.mfa_factors where id = $1 and user_id = $2', [factorId, userId]);
  return rows[0] ?? null;
}

/** The user's verified TOTP factors, oldest first. */
export async function verifiedTotpFactors(db: Queryable, userId: string): Promise<FactorRow[]> {
  const { rows } = await db.query<FactorRow>(
    `select * from auth.mfa_factors where user_id = $1 and factor_type = 'totp' and status = 'verified' order by created_at, id`,
    [userId],
  );
  return rows;
}

/** A factor to enroll (unverified until its first verification). */
export interface NewFactor {
  readonly id: string;
  readonly userId: string;
  readonly friendlyName: string;
  readonly type: 'totp' | 'webauthn';
  /** The TOTP secret; `''` for WebAuthn. */
  readonly secret: string;
}

/** Stores an unverified factor; throws the unique violation when the user has one of that friendly name. */
export async function insertFactor(tx: Queryable, factor: NewFactor): Promise<void> {
  await tx.query(`insert into auth.mfa_factors (id, user_id, friendly_name, factor_type, status, secret) values ($1, $2, $3, $4, 'unverified', $5)`, [
    factor.id,
    factor.userId,
    factor.friendlyName,
    factor.type,
    factor.secret,
  ]);
}

/** Records that the factor was challenged now. */
export async function markFactorChallenged(tx: Queryable, factorId: string): Promise<void> {
  await tx.query('update auth.mfa_factors set last_challenged_at = now() where id = $1', [factorId]);
}

/** Marks the factor verified. */
export async function markFactorVerified(tx: Queryable, factorId: string): Promise<void> {
  await tx.query(`update auth.mfa_factors set status = 'verified', updated_at = now() where id = $1`, [factorId]);
}

/**
 * Records `step` as the factor's last used TOTP step if it is later than the last one, in one
 * statement, so two requests racing with the same code cannot both win. Whether it was recorded.
 */
export async function advanceTotpStep(db: Queryable, factorId: string, step: number): Promise<boolean> {
  const { rows } = await db.query(
    `update auth.mfa_factors set last_used_step = $2, updated_at = now()
      where id = $1 and (last_used_step is null or last_used_step < $2) returning id`,
    [factorId, step],
  );
  return rows.length > 0;
}

/** Deletes a factor (its challenges and credential go with it). */
export async function deleteFactor(tx: Queryable, factorId: string): Promise<void> {
  await tx.query('delete from auth.mfa_factors where id = $1', [factorId]);
}

/** Stores a TOTP challenge of the factor from address `ip`; answers when it was created. */
export async function insertTotpChallenge(tx: Queryable, id: string, factorId: string, ip: string): Promise<Date> {
  const { rows } = await tx.query<{ created_at: Date }>('insert into auth.mfa_challenges (id, factor_id, ip) values ($1, $2, $3) returning created_at', [id, factorId, ip]);
  return rows[0]!.created_at;
}

/** Deletes the factor's challenge `id` (one statement, so it answers once); when it was created, or `null` when there is none. */
export async function takeTotpChallenge(tx: Queryable, id: string, factorId: string): Promise<Date | null> {
  const { rows } = await tx.query<{ created_at: Date }>('delete from auth.mfa_challenges where id = $1 and factor_id = $2 returning created_at', [id, factorId]);
  return rows[0]?.created_at ?? null;
}
