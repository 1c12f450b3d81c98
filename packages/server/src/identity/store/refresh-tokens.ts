import type { Queryable } from '../../db/index.js';
import type { AmrEntry } from '../types.js';
import type { UserRow } from '../users.js';
import { USER_SELECT } from './users.js';

/**
 * Finds the presented refresh token by digest (unique index) with its session and user, and locks the
 * session row: concurrent refreshes of one session queue here, across processes.
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

/**
 * Revokes the presented token if it is still active, inserts its child and touches the session, in one
 * statement. Revoking with `and not revoked` after the lock makes the statement see any rotation
 * committed while the request waited: `rotated` is 0 then.
 */
export const ROTATE_SQL = `with revoked as (
    update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1 and not revoked returning id
  ), child as (
    insert into auth.refresh_tokens (token_hash, sealed, user_id, session_id, parent_id)
    select $2, $3, $4, $5, id from revoked returning id
  ), touched as (
    update auth.sessions set refreshed_at = now(), updated_at = now() where id = $5 and exists (select 1 from revoked) returning id
  )
  select count(*)::int as rotated from child`;

/** A presented refresh token with its locked session and its user ({@link LOCK_SQL}). */
export interface LockedRefreshToken extends UserRow {
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

/** A revoked token's state and its session's active token, read under the session lock. */
export interface ReuseState {
  revoked: boolean;
  updated_at: Date;
  active_id: number | null;
  active_parent_id: number | null;
  active_sealed: Uint8Array | null;
}

/** A child token to insert: its digest and its value sealed for the parent. */
export interface ChildToken {
  readonly digest: Uint8Array;
  readonly sealed: Uint8Array;
}

/** The token with this digest, its session locked until the transaction ends; `null` when unknown. */
export async function lockRefreshToken(tx: Queryable, digest: Uint8Array): Promise<LockedRefreshToken | null> {
  const { rows } = await tx.query<LockedRefreshToken>(LOCK_SQL, [digest]);
  return rows[0] ?? null;
}

/** {@link ROTATE_SQL}: whether the token was still active and `child` replaced it. */
export async function rotateRefreshToken(tx: Queryable, token: LockedRefreshToken, child: ChildToken): Promise<boolean> {
  const { rows } = await tx.query<{ rotated: number }>(ROTATE_SQL, [token.token_id, child.digest, child.sealed, token.id, token.session_id]);
  return rows[0]?.rotated === 1;
}

/** Inserts a child of an already revoked token and touches the session, in one statement. */
export async function insertChildOfRevoked(tx: Queryable, token: LockedRefreshToken, child: ChildToken): Promise<void> {
  await tx.query(
    `with child as (
       insert into auth.refresh_tokens (token_hash, sealed, user_id, session_id, parent_id) values ($1, $2, $3, $4, $5)
     )
     update auth.sessions set refreshed_at = now(), updated_at = now() where id = $4`,
    [child.digest, child.sealed, token.id, token.session_id, token.token_id],
  );
}

/** The token's own state and its session's newest active token; `null` when the token is gone. */
export async function readReuseState(tx: Queryable, tokenId: number): Promise<ReuseState | null> {
  const { rows } = await tx.query<ReuseState & Record<string, unknown>>(
    `select t.revoked, t.updated_at, a.id as active_id, a.parent_id as active_parent_id, a.sealed as active_sealed
       from auth.refresh_tokens t
       left join lateral (
         select id, parent_id, sealed from auth.refresh_tokens
          where session_id = t.session_id and not revoked order by id desc limit 1
       ) a on true
      where t.id = $1`,
    [tokenId],
  );
  return rows[0] ?? null;
}

/** Revokes every refresh token of the session and marks the session as reused (its refreshes are refused from now on). */
export async function revokeRefreshFamily(tx: Queryable, sessionId: string): Promise<void> {
  await tx.query('update auth.refresh_tokens set revoked = true, updated_at = now() where session_id = $1 and not revoked', [sessionId]);
  await tx.query('update auth.sessions set reuse_detected_at = now(), updated_at = now() where id = $1', [sessionId]);
}
