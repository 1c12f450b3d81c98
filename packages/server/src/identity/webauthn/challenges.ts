import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { IdentityError } from '../errors.js';
import { insertChallenge } from '../store/webauthn.js';

/** What a ceremony challenge is bound to; `null` fields bind to nothing (passkey sign-in has no user yet). */
export interface ChallengeBinding {
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly factorId: string | null;
}

export type ChallengeType = 'registration' | 'authentication';

/** Stores a challenge for `expirySeconds`; answers its id and expiry (seconds since the epoch). */
export async function storeChallenge(
  db: Queryable,
  type: ChallengeType,
  challenge: string,
  binding: ChallengeBinding,
  expirySeconds: number,
): Promise<{ id: string; expiresAt: number }> {
  const id = randomUUID();
  const expiresAt = await insertChallenge(db, id, type, challenge, binding, expirySeconds);
  return { id, expiresAt: Math.floor(expiresAt.getTime() / 1000) };
}

/** A challenge taken out of the store ({@link consumeChallenge}). */
export interface ConsumedChallenge {
  readonly challenge: string;
  readonly expired: boolean;
}

/** GoTrue's answers for a passkey challenge that cannot be used. */
export function passkeyChallengeRefusal(consumed: ConsumedChallenge | null): IdentityError | null {
  if (!consumed) return new IdentityError(400, 'webauthn_challenge_not_found', 'Challenge not found or already used');
  if (consumed.expired) return new IdentityError(400, 'webauthn_challenge_expired', 'Challenge has expired');
  return null;
}
