import type { Queryable } from '../../db/index.js';
import type { RevocationEvent } from '../../revocation/types.js';
import { endSessions } from '../end-sessions.js';
import type { IdentityRuntime } from '../runtime.js';
import type { PreparedSession } from '../sessions.js';
import type { AuthenticationMethod } from '../types.js';
import { markFactorVerified, type FactorRow } from '../store/factors.js';
import { aal1SessionIds } from '../store/auth-sessions.js';
import { stepUpSession } from './step-up.js';

/**
 * What a successful second-factor verification does, inside its transaction: a factor verified for the
 * first time becomes `verified` and the user's other aal1 sessions end (as GoTrue does; the revocation
 * event is answered for the caller to announce after commit), and the session steps up to aal2 with
 * `method` in its `amr`.
 */
export async function completeFactorVerification(
  tx: Queryable,
  runtime: IdentityRuntime,
  factor: Pick<FactorRow, 'id' | 'status' | 'user_id'>,
  sessionId: string,
  method: AuthenticationMethod,
): Promise<{ prepared: PreparedSession; ended: RevocationEvent | null }> {
  let ended: RevocationEvent | null = null;
  if (factor.status !== 'verified') {
    await markFactorVerified(tx, factor.id);
    const below = await aal1SessionIds(tx, factor.user_id, sessionId);
    ended = await endSessions(tx, runtime.revocations, { kind: 'session_revoked', userId: factor.user_id, sessionIds: below });
  }
  return { prepared: await stepUpSession(tx, runtime.issuer, factor.user_id, sessionId, method), ended };
}
