import type { Database, Queryable } from '../../db/index.js';
import type { RevocationEvent, Revocations } from '../../revocation/types.js';
import { userActor, type AuditWriter } from '../audit/audit-log.js';
import type { AccessTokenIssuer } from '../claims.js';
import { IdentityError, Messages, OAuthError } from '../errors.js';
import type { RateLimiter } from '../rate-limit.js';
import { digestToken, newRefreshToken, openWithParent, sealForParent } from '../refresh-tokens.js';
import { tokenResponse } from '../sessions.js';
import type { IdentitySettings } from '../settings.js';
import {
  insertChildOfRevoked,
  lockRefreshToken,
  readReuseState,
  revokeRefreshFamily,
  rotateRefreshToken,
  type ChildToken,
  type LockedRefreshToken,
} from '../store/refresh-tokens.js';
import type { TokenResponse } from '../types.js';
import { isBanned } from '../users.js';
import type { Grant } from './types.js';

/** The refresh_token grant's input: the presented refresh token (empty when none was sent). */
export interface RefreshTokenInput {
  readonly refreshToken: string;
}

/** What the refresh grant needs from the service. */
export interface RefreshDependencies {
  readonly db: Database;
  readonly issuer: AccessTokenIssuer;
  readonly settings: IdentitySettings;
  /** Per-session limiter of refresh grants. */
  readonly sessionLimiter: RateLimiter;
  /** Where a revoked session family's event is recorded. */
  readonly revocations: Revocations;
  /** Where `token_revoked` / `token_refreshed` are recorded. */
  readonly audit: AuditWriter;
  /** The client address of the request, for the audit log. */
  readonly ipAddress?: string | undefined;
}

type Outcome = { readonly row: LockedRefreshToken; readonly claims: Record<string, unknown>; readonly refreshToken: string } | { readonly reused: RevocationEvent };

function checkSession(row: LockedRefreshToken, settings: IdentitySettings, now: number): void {
  if (row.session_reuse_detected_at) throw new IdentityError(400, 'refresh_token_already_used', Messages.refreshTokenAlreadyUsed);
  if (row.deleted_at) throw new IdentityError(400, 'session_not_found', Messages.refreshSessionMissing);
  if (isBanned(row, now)) throw new IdentityError(400, 'user_banned', Messages.userBanned);
  if (row.session_not_after && row.session_not_after.getTime() <= now) throw new IdentityError(400, 'session_expired', Messages.sessionExpired);
  if (settings.sessionsTimebox > 0 && row.session_created_at.getTime() + settings.sessionsTimebox * 1000 <= now) {
    throw new IdentityError(400, 'session_expired', `${Messages.sessionExpired} (timebox)`);
  }
  if (settings.sessionsInactivityTimeout > 0) {
    const last = (row.session_refreshed_at ?? row.session_created_at).getTime();
    if (last + settings.sessionsInactivityTimeout * 1000 <= now) throw new IdentityError(400, 'session_expired', `${Messages.sessionExpired} (inactivity)`);
  }
}

/** A new child of `presented`: the token, and what the store keeps of it. */
function childOf(presented: string): { token: string; stored: ChildToken } {
  const token = newRefreshToken();
  return { token, stored: { digest: digestToken(token), sealed: sealForParent(token, presented) } };
}

async function rotate(tx: Queryable, row: LockedRefreshToken, presented: string): Promise<string | null> {
  const child = childOf(presented);
  return (await rotateRefreshToken(tx, row, child.stored)) ? child.token : null;
}

/**
 * A revoked token was presented (the session lock is held, so this is the settled state):
 *  (a) it was revoked less than the reuse interval ago and is the direct parent of the session's active
 *      token (a client that lost the answer) → that active token is returned;
 *  (b) it was revoked less than the reuse interval ago, or rotation is off → a new child is issued;
 *  (c) otherwise every refresh token of the session is revoked, a `refresh_token_reused` revocation
 *      event is recorded, and the caller announces it and answers `refresh_token_already_used` after
 *      commit.
 */
async function reuse(tx: Queryable, row: LockedRefreshToken, presented: string, settings: IdentitySettings, now: number): Promise<string | null> {
  const state = await readReuseState(tx, row.token_id);
  if (!state) throw new IdentityError(400, 'refresh_token_not_found', Messages.refreshTokenNotFound);
  if (!state.revoked) return rotate(tx, row, presented);
  const insideInterval = now <= state.updated_at.getTime() + settings.refreshTokenReuseInterval * 1000;
  if (insideInterval && state.active_parent_id === row.token_id && state.active_sealed) {
    const active = openWithParent(state.active_sealed, presented);
    if (active) return active;
  }
  if (!settings.refreshTokenRotation || insideInterval) {
    const child = childOf(presented);
    await insertChildOfRevoked(tx, row, child.stored);
    return child.token;
  }
  await revokeRefreshFamily(tx, row.session_id);
  return null;
}

/**
 * Rotates the presented refresh token and issues a new access token, applying GoTrue's reuse rules, in
 * one transaction:
 *  1. lock: find the presented token by digest with its session and user, and lock the session row —
 *     concurrent refreshes of one session queue here, across processes (`store/refresh-tokens.ts`);
 *  2. rotate: revoke the presented token if it is still active, insert its child and touch the session,
 *     in one statement;
 *  3. run the claims hooks; commit; then sign the access token (locks are released first).
 * Only a token found already revoked takes the slower path of {@link reuse}. Throws `IdentityError` with
 * `refresh_token_not_found`, `refresh_token_already_used`, `session_not_found`, `session_expired`,
 * `user_banned` or `over_request_rate_limit`.
 */
export async function refreshGrant(deps: RefreshDependencies, presented: string): Promise<TokenResponse> {
  const digest = digestToken(presented);
  const outcome = await deps.db.transaction<Outcome>(async (tx) => {
    const row = await lockRefreshToken(tx, digest);
    if (!row) throw new IdentityError(400, 'refresh_token_not_found', Messages.refreshTokenNotFound);
    const now = Date.now();
    checkSession(row, deps.settings, now);
    if (!deps.sessionLimiter.take(row.session_id, now)) throw new IdentityError(429, 'over_request_rate_limit', Messages.rateLimited);
    let issued = row.token_revoked ? null : await rotate(tx, row, presented);
    if (issued === null) issued = await reuse(tx, row, presented, deps.settings, now);
    const actor = userActor(row);
    if (issued === null) {
      await deps.audit.record(tx, { action: 'token_revoked', actor, traits: { session_id: row.session_id, reason: 'refresh_token_reused' }, ipAddress: deps.ipAddress });
      return { reused: await deps.revocations.record(tx, { kind: 'refresh_token_reused', userId: row.id, sessionIds: [row.session_id] }) };
    }
    await deps.audit.record(tx, { action: 'token_revoked', actor, ipAddress: deps.ipAddress }, { action: 'token_refreshed', actor, ipAddress: deps.ipAddress });
    const claims = await deps.issuer.prepare(tx, row, { id: row.session_id, aal: row.session_aal, amr: row.session_amr }, 'token_refresh');
    return { row, claims, refreshToken: issued };
  });
  if ('reused' in outcome) {
    await deps.revocations.announce(outcome.reused);
    throw new IdentityError(400, 'refresh_token_already_used', Messages.refreshTokenAlreadyUsed);
  }
  return tokenResponse(outcome.row, await deps.issuer.sign(outcome.claims), outcome.refreshToken);
}

/**
 * `grant_type=refresh_token`: rotates the presented token under GoTrue's reuse rules ({@link refreshGrant}).
 * Limited per session, not per address. An empty token is OAuth's `invalid_request` "refresh_token
 * required", as GoTrue answers it.
 */
export const refreshTokenGrant: Grant<RefreshTokenInput, TokenResponse> = {
  async issue({ runtime }, input, caller) {
    if (input.refreshToken === '') throw new OAuthError('invalid_request', 'refresh_token required');
    return refreshGrant({ ...runtime, sessionLimiter: runtime.limits.refresh, ipAddress: caller.ip }, input.refreshToken);
  },
};
