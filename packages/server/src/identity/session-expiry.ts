import type { Database } from '../db/index.js';
import type { Logger } from '../logging/logger.js';
import type { RevocationEvent, Revocations } from '../revocation/types.js';
import type { IdentitySettings } from './settings.js';
import { expireSessions } from './store/auth-sessions.js';

/** Sessions ended per sweep statement; a larger backlog is taken by the following sweeps. */
const SWEEP_BATCH = 500;

/**
 * Ends sessions past the timebox or the inactivity timeout: sets their `not_after` (so the refresh
 * grant answers `session_expired` and bearer checks `session_not_found`) and records one
 * `session_expired` event per user selecting the sessions ended, in one transaction; announces after
 * commit. Rows another node is sweeping are skipped, so each session ends once. Returns the events.
 */
export async function endExpiredSessions(db: Database, revocations: Revocations, settings: Pick<IdentitySettings, 'sessionsTimebox' | 'sessionsInactivityTimeout'>): Promise<RevocationEvent[]> {
  if (settings.sessionsTimebox <= 0 && settings.sessionsInactivityTimeout <= 0) return [];
  const events = await db.transaction(async (tx) => {
    const rows = await expireSessions(tx, { timebox: settings.sessionsTimebox, inactivityTimeout: settings.sessionsInactivityTimeout }, SWEEP_BATCH);
    const byUser = new Map<string, string[]>();
    for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row.id]);
    const recorded: RevocationEvent[] = [];
    for (const [userId, sessionIds] of byUser) recorded.push(await revocations.record(tx, { kind: 'session_expired', userId, sessionIds: sessionIds.sort() }));
    return recorded;
  });
  await revocations.announce(...events);
  return events;
}

/**
 * How often expired sessions are swept: a quarter of the shorter limit, at least 1 s and at most 60 s;
 * `null` when neither limit is set.
 */
export function sweepInterval(settings: Pick<IdentitySettings, 'sessionsTimebox' | 'sessionsInactivityTimeout'>): number | null {
  const limits = [settings.sessionsTimebox, settings.sessionsInactivityTimeout].filter((limit) => limit > 0);
  if (limits.length === 0) return null;
  return Math.min(60, Math.max(1, Math.min(...limits) / 4)) * 1000;
}

/** Sweeps expired sessions periodically (see {@link sweepInterval}); returns the function that stops it. */
export function startSessionExpiry(db: Database, revocations: Revocations, settings: IdentitySettings, logger: Logger): () => void {
  const interval = sweepInterval(settings);
  if (interval === null) return () => undefined;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    endExpiredSessions(db, revocations, settings)
      .catch((error: unknown) => logger.warn({ err: error }, 'ending expired sessions failed; retrying'))
      .finally(() => {
        running = false;
      });
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
