import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { IdentityError } from '../errors.js';

/** What a ceremony challenge is bound to; `null` fields bind to nothing (passkey sign-in has no user yet). */
export interface ChallengeBinding {
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly factorId: string | null;
}

export type ChallengeType = 'registration' | 'authentication';

/** Stores a challenge for `expirySeconds`; answers its id and expiry (seconds since the epoch). Old ones are swept. */
export async function storeChallenge(
  db: Queryable,
  type: ChallengeType,
  challenge: string,
  binding: ChallengeBinding,
  expirySeconds: number,
): Promise<{ id: string; expiresAt: number }> {
  const id = randomUUID();
  await db.query('delete from auth.webauthn_challenges where expires_at < now() - interval \'1 hour\'');
  const { rows } = await db.query<{ expires_at: Date }>(
    `insert into auth.webauthn_challenges (id, user_id, session_id, factor_id, challenge_type, challenge, expires_at)
     values ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) returning expires_at`,
    [id, binding.userId, binding.sessionId, binding.factorId, type, challenge, expirySeconds],
  );
  return { id, expiresAt: Math.floor(rows[0]!.expires_at.getTime() / 1000) };
}

/** A challenge taken out of the store. */
export interface ConsumedChallenge {
  readonly challenge: string;
  readonly expired: boolean;
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

/** GoTrue's answers for a passkey challenge that cannot be used. */
export function passkeyChallengeRefusal(consumed: ConsumedChallenge | null): IdentityError | null {
  if (!consumed) return new IdentityError(400, 'webauthn_challenge_not_found', 'Challenge not found or already used');
  if (consumed.expired) return new IdentityError(400, 'webauthn_challenge_expired', 'Challenge has expired');
  return null;
}
