import type { Queryable } from '../../db/index.js';
import type { IdentitySettings } from '../settings.js';
import { liveSessions } from '../store/auth-sessions.js';

/** A session as `GET /sessions` and the admin API list it. */
export interface SessionJson {
  readonly id: string;
  readonly user_id: string;
  readonly created_at: string;
  readonly updated_at: string;
  /** Last refresh of the session's tokens; `null` when never refreshed. */
  readonly refreshed_at: string | null;
  readonly user_agent: string | null;
  /** Client address at login (trusted-proxy rules applied). */
  readonly ip: string | null;
  readonly aal: string;
  readonly not_after: string | null;
  /** Whether the request's access token belongs to this session (always false on the admin API). */
  readonly current: boolean;
}

type Expiry = Pick<IdentitySettings, 'sessionsTimebox' | 'sessionsInactivityTimeout'>;

/**
 * A user's live sessions, newest first: not ended by reuse detection, not past `not_after`, the
 * timebox or the inactivity timeout.
 */
export async function listSessions(db: Queryable, settings: Expiry, userId: string, currentSessionId: string | null): Promise<SessionJson[]> {
  const rows = await liveSessions(db, { timebox: settings.sessionsTimebox, inactivityTimeout: settings.sessionsInactivityTimeout }, userId);
  return rows.map((row) => ({
    id: row.id,
    user_id: row.user_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    refreshed_at: row.refreshed_at?.toISOString() ?? null,
    user_agent: row.user_agent,
    ip: row.ip,
    aal: row.aal,
    not_after: row.not_after?.toISOString() ?? null,
    current: row.id === currentSessionId,
  }));
}
