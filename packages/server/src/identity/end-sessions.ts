import type { Queryable } from '../db/index.js';
import type { RevocationEvent, RevocationKind, Revocations } from '../revocation/types.js';
import { deleteSessions } from './store/auth-sessions.js';

/** Which of a user's sessions {@link endSessions} ends, and why. */
export interface EndSessionsOptions {
  /** Why the sessions end: the event's kind. */
  readonly kind: RevocationKind;
  readonly userId: string;
  /** Only these sessions (of `userId`). Default: every session of the user. */
  readonly sessionIds?: readonly string[] | undefined;
  /** Keep this session (the one making the request, for `others` and a password change). Default none. */
  readonly exceptSessionId?: string | null | undefined;
}

/**
 * Ends sessions of a user inside `tx`, the transaction that makes the change: deletes them (their
 * refresh tokens go with them) and records one revocation event selecting the user and exactly the
 * sessions ended, so a new sign-in in the same second is not refused. Returns the event, or `null`
 * when no session was open. Announce the event after the transaction commits:
 *
 * @example
 * ```ts
 * const event = await db.transaction(async (tx) => {
 *   await replacePasswordHash(tx, userId, hash);
 *   return endSessions(tx, revocations, { kind: 'password_changed', userId, exceptSessionId: sessionId });
 * });
 * if (event) await revocations.announce(event);
 * ```
 */
export async function endSessions(tx: Queryable, revocations: Revocations, options: EndSessionsOptions): Promise<RevocationEvent | null> {
  const only = options.sessionIds === undefined ? null : [...options.sessionIds];
  if (only !== null && only.length === 0) return null;
  const ended = await deleteSessions(tx, options.userId, only, options.exceptSessionId ?? null);
  if (ended.length === 0) return null;
  return revocations.record(tx, { kind: options.kind, userId: options.userId, sessionIds: ended.sort() });
}
