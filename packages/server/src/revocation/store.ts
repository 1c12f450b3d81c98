import type { Queryable } from '../db/index.js';
import type { RevocationEvent, RevocationInput } from './types.js';

/** When an event was made and until when it matters, in seconds since the epoch. */
export interface RevocationTimes {
  readonly issuedBefore: number;
  readonly expiresAt: number;
}

/** A stored event and whether it is older than the settle window (no earlier id can still commit). */
export interface PolledRevocation {
  readonly event: RevocationEvent;
  readonly settled: boolean;
}

interface EventRow {
  [column: string]: unknown;
  id: string;
  kind: RevocationEvent['kind'];
  user_id: string | null;
  session_ids: string[] | null;
  organization_id: string | null;
  client_id: string | null;
  issued_before: number;
  expires_at: number;
}

const COLUMNS = `id::text as id, kind, user_id::text as user_id, session_ids::text[] as session_ids,
  organization_id::text as organization_id, client_id,
  extract(epoch from issued_before)::int8 as issued_before, extract(epoch from expires_at)::int8 as expires_at`;

function toEvent(row: EventRow): RevocationEvent {
  return {
    id: row.id,
    kind: row.kind,
    user_id: row.user_id,
    session_ids: row.session_ids,
    organization_id: row.organization_id,
    client_id: row.client_id,
    issued_before: Number(row.issued_before),
    expires_at: Number(row.expires_at),
  };
}

/** Inserts one event in `tx` (the transaction that makes the change) and returns it. */
export async function insertRevocation(tx: Queryable, input: RevocationInput, times: RevocationTimes): Promise<RevocationEvent> {
  const sessions = input.sessionIds === undefined ? null : [...input.sessionIds];
  const { rows } = await tx.query<EventRow>(
    `insert into auth.revocation_events (kind, user_id, session_ids, organization_id, client_id, issued_before, expires_at, created_at)
     values ($1, $2, $3::uuid[], $4, $5, to_timestamp($6), to_timestamp($7), clock_timestamp())
     returning ${COLUMNS}`,
    [input.kind, input.userId ?? null, sessions, input.organizationId ?? null, input.clientId ?? null, times.issuedBefore, times.expiresAt],
  );
  return toEvent(rows[0]!);
}

/**
 * `auth.revocation_events`: every statement on the table. Ids come from a sequence, so they increase
 * in insertion order; a transaction that commits late can make a smaller id visible after a larger
 * one, which {@link RevocationStore.poll} accounts for with its settle window.
 */
export class RevocationStore {
  constructor(private readonly db: Queryable) {}

  /** Unexpired events with an id greater than `after` (every unexpired one when `null`), oldest first. */
  async since(after: string | null, limit: number): Promise<RevocationEvent[]> {
    const { rows } = await this.db.query<EventRow>(
      `select ${COLUMNS} from auth.revocation_events
        where ($1::int8 is null or id > $1::int8) and expires_at > now()
        order by id limit $2`,
      [after, limit],
    );
    return rows.map(toEvent);
  }

  /**
   * Like {@link RevocationStore.since}, each event marked `settled` when it was written more than
   * `settleSeconds` ago (by the database clock).
   */
  async poll(after: string | null, limit: number, settleSeconds: number): Promise<PolledRevocation[]> {
    const { rows } = await this.db.query<EventRow & { settled: boolean }>(
      `select ${COLUMNS}, created_at < now() - make_interval(secs => $3) as settled from auth.revocation_events
        where ($1::int8 is null or id > $1::int8) and expires_at > now()
        order by id limit $2`,
      [after, limit, settleSeconds],
    );
    return rows.map((row) => ({ event: toEvent(row), settled: row.settled }));
  }

  /** Deletes events whose tokens have all expired; returns how many. */
  async prune(): Promise<number> {
    const { rowCount } = await this.db.query('delete from auth.revocation_events where expires_at <= now()');
    return rowCount;
  }
}
