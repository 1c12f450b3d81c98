import type { Database, Queryable } from '../db/index.js';
import type { RevocationEvent, Revocations } from '../revocation/types.js';
import { userActor, type AuditWriter } from './audit/audit-log.js';
import type { AccessTokenIssuer } from './claims.js';
import { IdentityError, Messages } from './errors.js';
import type { RateLimiter } from './rate-limit.js';
import { digestToken, newRefreshToken, openWithParent, sealForParent } from './refresh-tokens.js';
import { tokenResponse } from './sessions.js';
import type { IdentitySettings } from './settings.js';
import type { AmrEntry, TokenResponse } from './types.js';
import { isBanned, type UserRow } from './users.js';
import { USER_SELECT } from './store/users.js';

/**
 * The refresh path, one transaction:
 *  1. {@link LOCK_SQL}: find the presented token by digest (unique index) with its session and user,
 *     and lock the session row — concurrent refreshes of one session queue here, across processes.
 *  2. {@link ROTATE_SQL}: revoke the presented token if it is still active, insert its child and
 *     touch the session, in one statement. Revoking with `and not revoked` after the lock makes the
 *     statement see any rotation committed while this request waited.
 *  3. Run the claims hooks; commit; then sign the access token (locks are released first).
 * Only a token found already revoked takes the slower path of {@link reuse}.
 */
export const LOCK_SQL = `select t.id as token_id, t.revoked as token_revoked,
  s.id as session_id, s.aal as session_aal, s.amr as session_amr, s.created_at as session_created_at,
  s.refreshed_at as session_refreshed_at, s.not_after as session_not_after, s.reuse_detected_at as session_reuse_detected_at,
  ${USER_SELECT}
  from auth.refresh_tokens t
  join auth.sessions s on s.id = t.session_id
  join auth.users u on u.id = s.user_id
 where t.token_hash = $1
   for update of s`;

export const ROTATE_SQL = `with revoked as (
    update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1 and not revoked returning id
  ), child as (
    insert into auth.refresh_tokens (token_hash, sealed, user_id, session_id, parent_id)
    select $2, $3, $4, $5, id from revoked returning id
  ), touched as (
    update auth.sessions set refreshed_at = now(), updated_at = now() where id = $5 and exists (select 1 from revoked) returning id
  )
  select count(*)::int as rotated from child`;

interface LockedRow extends UserRow {
  token_id: number;
  token_revoked: boolean;
  session_id: string;
  session_aal: string;
  session_amr: AmrEntry[];
  session_created_at: Date;
  session_refreshed_at: Date | null;
  session_not_after: Date | null;
  session_reuse_detected_at: Date | null;
}

interface ReuseState {
  revoked: boolean;
  updated_at: Date;
  active_id: number | null;
  active_parent_id: number | null;
  active_sealed: Uint8Array | null;
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

type Outcome = { readonly row: LockedRow; readonly claims: Record<string, unknown>; readonly refreshToken: string } | { readonly reused: RevocationEvent };

function checkSession(row: LockedRow, settings: IdentitySettings, now: number): void {
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

async function rotate(tx: Queryable, row: LockedRow, presented: string): Promise<string | null> {
  const child = newRefreshToken();
  const { rows } = await tx.query<{ rotated: number }>(ROTATE_SQL, [row.token_id, digestToken(child), sealForParent(child, presented), row.id, row.session_id]);
  return rows[0]?.rotated === 1 ? child : null;
}

/** Inserts a child of an already revoked token (reuse inside the interval, or rotation off). */
async function swapRevoked(tx: Queryable, row: LockedRow, presented: string): Promise<string> {
  const child = newRefreshToken();
  await tx.query(
    `with child as (
       insert into auth.refresh_tokens (token_hash, sealed, user_id, session_id, parent_id) values ($1, $2, $3, $4, $5)
     )
     update auth.sessions set refreshed_at = now(), updated_at = now() where id = $4`,
    [digestToken(child), sealForParent(child, presented), row.id, row.session_id, row.token_id],
  );
  return child;
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
async function reuse(tx: Queryable, row: LockedRow, presented: string, settings: IdentitySettings, now: number): Promise<string | null> {
  const { rows } = await tx.query<ReuseState & Record<string, unknown>>(
    `select t.revoked, t.updated_at, a.id as active_id, a.parent_id as active_parent_id, a.sealed as active_sealed
       from auth.refresh_tokens t
       left join lateral (
         select id, parent_id, sealed from auth.refresh_tokens
          where session_id = t.session_id and not revoked order by id desc limit 1
       ) a on true
      where t.id = $1`,
    [row.token_id],
  );
  const state = rows[0];
  if (!state) throw new IdentityError(400, 'refresh_token_not_found', Messages.refreshTokenNotFound);
  if (!state.revoked) return rotate(tx, row, presented);
  const insideInterval = now <= state.updated_at.getTime() + settings.refreshTokenReuseInterval * 1000;
  if (insideInterval && state.active_parent_id === row.token_id && state.active_sealed) {
    const active = openWithParent(state.active_sealed, presented);
    if (active) return active;
  }
  if (!settings.refreshTokenRotation || insideInterval) return swapRevoked(tx, row, presented);
  await tx.query('update auth.refresh_tokens set revoked = true, updated_at = now() where session_id = $1 and not revoked', [row.session_id]);
  await tx.query('update auth.sessions set reuse_detected_at = now(), updated_at = now() where id = $1', [row.session_id]);
  return null;
}

/**
 * `POST /token?grant_type=refresh_token`: rotates the presented refresh token and issues a new access
 * token, applying GoTrue's reuse rules. Throws `IdentityError` with `refresh_token_not_found`,
 * `refresh_token_already_used`, `session_expired`, `user_banned` or `over_request_rate_limit`.
 */
export async function refreshGrant(deps: RefreshDependencies, presented: string): Promise<TokenResponse> {
  const digest = digestToken(presented);
  const outcome = await deps.db.transaction<Outcome>(async (tx) => {
    const { rows } = await tx.query<LockedRow>(LOCK_SQL, [digest]);
    const row = rows[0];
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
