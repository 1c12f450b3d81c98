import type { Queryable } from '../../db/index.js';
import type { AmrEntry, AuthenticationMethod } from '../types.js';

/**
 * Statements on `auth.sessions` (and the refresh tokens a session starts or steps up with). A session
 * is in force while it is not past `not_after` and its refresh token was not reused; the timebox and
 * the inactivity timeout end it by setting `not_after` ({@link expireSessions}).
 */

/** A session to open, with its first refresh token's digest. */
export interface NewSession {
  readonly id: string;
  readonly userId: string;
  readonly aal: string;
  readonly amr: readonly AmrEntry[];
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly refreshTokenDigest: Buffer;
}

/**
 * Opens a session in one statement: the live user's `last_sign_in_at` (and its identities'), the
 * session row and its first refresh token. False, writing nothing, when the user is not live.
 */
export async function insertSession(tx: Queryable, session: NewSession): Promise<boolean> {
  const { rows } = await tx.query<{ id: string }>(
    `with u as (
       update auth.users set last_sign_in_at = now(), updated_at = now()
        where id = $1 and deleted_at is null returning id
     ), s as (
       insert into auth.sessions (id, user_id, aal, amr, ip, user_agent)
       select $2, u.id, $3, $4, $5, $6 from u returning id
     ), i as (
       update auth.identities set last_sign_in_at = now() where user_id = $1 and exists (select 1 from u)
     ), t as (
       insert into auth.refresh_tokens (token_hash, user_id, session_id)
       select $7, $1, s.id from s returning id
     )
     select id from t`,
    [session.userId, session.id, session.aal, JSON.stringify(session.amr), session.ip, session.userAgent, session.refreshTokenDigest],
  );
  return rows.length > 0;
}

/**
 * Raises the user's session to aal2 with `method` first in its `amr` (at `timestamp`, seconds); the
 * new `amr`, or `null` when the user has no such session.
 */
export async function raiseSessionToAal2(tx: Queryable, userId: string, sessionId: string, method: AuthenticationMethod, timestamp: number): Promise<AmrEntry[] | null> {
  const { rows } = await tx.query<{ amr: AmrEntry[] }>(
    `update auth.sessions set aal = 'aal2', amr = jsonb_build_array(jsonb_build_object('method', $3::text, 'timestamp', $4::int8)) || amr,
            refreshed_at = now(), updated_at = now()
      where id = $1 and user_id = $2 returning amr`,
    [sessionId, userId, method, timestamp],
  );
  return rows[0]?.amr ?? null;
}

/** Deletes every refresh token of the session (not merely revoked: none stays usable) and stores one new token digest. */
export async function replaceSessionRefreshTokens(tx: Queryable, userId: string, sessionId: string, refreshTokenDigest: Buffer): Promise<void> {
  await tx.query('delete from auth.refresh_tokens where session_id = $1', [sessionId]);
  await tx.query('insert into auth.refresh_tokens (token_hash, user_id, session_id) values ($1, $2, $3)', [refreshTokenDigest, userId, sessionId]);
}

/** The ids of the user's aal1 sessions other than `exceptSessionId`. */
export async function aal1SessionIds(tx: Queryable, userId: string, exceptSessionId: string): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(`select id::text as id from auth.sessions where user_id = $1 and id <> $2 and aal = 'aal1'`, [userId, exceptSessionId]);
  return rows.map((row) => row.id);
}

/**
 * Deletes the user's sessions — only those of `only` when given, never `exceptSessionId` — and
 * answers the ids deleted.
 */
export async function deleteSessions(tx: Queryable, userId: string, only: readonly string[] | null, exceptSessionId: string | null): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `delete from auth.sessions
      where user_id = $1 and ($2::uuid[] is null or id = any($2::uuid[])) and ($3::uuid is null or id <> $3::uuid)
      returning id::text as id`,
    [userId, only === null ? null : [...only], exceptSessionId],
  );
  return rows.map((row) => row.id);
}

/** Session lifetime limits, seconds; 0 turns a limit off. */
export interface SessionLimits {
  readonly timebox: number;
  readonly inactivityTimeout: number;
}

/**
 * Ends up to `batch` sessions past the timebox or the inactivity timeout by setting `not_after`, in one
 * statement; rows another transaction holds are skipped (`for update skip locked`), so each session
 * ends once. Answers the sessions ended.
 */
export async function expireSessions(tx: Queryable, limits: SessionLimits, batch: number): Promise<{ id: string; user_id: string }[]> {
  const { rows } = await tx.query<{ id: string; user_id: string }>(
    `with expired as (
       select id from auth.sessions
        where (not_after is null or not_after > now()) and reuse_detected_at is null
          and (($1::float8 > 0 and created_at <= now() - make_interval(secs => $1::float8))
            or ($2::float8 > 0 and coalesce(refreshed_at, created_at) <= now() - make_interval(secs => $2::float8)))
        order by id limit $3
        for update skip locked
     )
     update auth.sessions s set not_after = now(), updated_at = now() from expired where s.id = expired.id
     returning s.id::text as id, s.user_id::text as user_id`,
    [limits.timebox, limits.inactivityTimeout, batch],
  );
  return rows;
}

/** A row of `auth.sessions` as the session lists show it. */
export interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date;
  updated_at: Date;
  refreshed_at: Date | null;
  user_agent: string | null;
  ip: string | null;
  aal: string;
  not_after: Date | null;
  [column: string]: unknown;
}

/**
 * A user's sessions in force, newest first: not ended by reuse detection, not past `not_after`, the
 * timebox or the inactivity timeout.
 */
export async function liveSessions(db: Queryable, limits: SessionLimits, userId: string): Promise<SessionRow[]> {
  const { rows } = await db.query<SessionRow>(
    `select id, user_id, created_at, updated_at, refreshed_at, user_agent, ip, aal, not_after
       from auth.sessions
      where user_id = $1 and reuse_detected_at is null
        and (not_after is null or not_after > now())
        and ($2::float8 = 0 or created_at > now() - make_interval(secs => $2::float8))
        and ($3::float8 = 0 or coalesce(refreshed_at, created_at) > now() - make_interval(secs => $3::float8))
      order by created_at desc, id`,
    [userId, limits.timebox, limits.inactivityTimeout],
  );
  return rows;
}

/** Deletes every session of the user. */
export async function deleteUserSessions(tx: Queryable, userId: string): Promise<void> {
  await tx.query('delete from auth.sessions where user_id = $1', [userId]);
}
