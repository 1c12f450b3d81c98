import type { Queryable } from '../../db/index.js';
import type { AccessTokenIssuer } from '../claims.js';
import { IdentityError, Messages } from '../errors.js';
import { digestToken, newRefreshToken } from '../refresh-tokens.js';
import type { PreparedSession } from '../sessions.js';
import type { AuthenticationMethod } from '../types.js';
import { findUserById } from '../store/users.js';
import { raiseSessionToAal2, replaceSessionRefreshTokens } from '../store/auth-sessions.js';

/**
 * Raises a session to aal2 after a second factor: the method joins the session's `amr` (newest first),
 * every refresh token of the session is deleted (no reuse interval applies to them) and a new one
 * issued, so a refresh token from before the step-up can never mint an aal2 token: presented, it is
 * `refresh_token_not_found`. Runs inside the caller's transaction.
 */
export async function stepUpSession(tx: Queryable, issuer: AccessTokenIssuer, userId: string, sessionId: string, method: AuthenticationMethod): Promise<PreparedSession> {
  const now = Math.floor(Date.now() / 1000);
  const amr = await raiseSessionToAal2(tx, userId, sessionId, method, now);
  if (!amr) throw new IdentityError(403, 'session_not_found', Messages.sessionFromClaimMissing);
  // Deleted, not merely revoked: a revoked token stays usable for the reuse interval, and any refresh
  // token of the session now mints aal2 tokens.
  const refreshToken = newRefreshToken();
  await replaceSessionRefreshTokens(tx, userId, sessionId, digestToken(refreshToken));
  const user = await findUserById(tx, userId);
  if (!user) throw new IdentityError(403, 'user_not_found', Messages.userFromSubMissing);
  const claims = await issuer.prepare(tx, user, { id: sessionId, aal: 'aal2', amr }, method);
  return { user, claims, refreshToken };
}
