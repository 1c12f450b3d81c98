import type { Queryable } from '../../db/index.js';
import type { AuditAction, AuditLogType } from '../audit/actions.js';
import type { AuditEntryJson, AuditPayload } from '../audit/audit-log.js';

/** Statements on `auth.audit_log_entries`: written in the transaction of what they record, read by the admin API. */

/** Which entries {@link readAuditLog} returns. Every field narrows; none set means all. */
export interface AuditFilter {
  /** Entries whose actor is this user, or whose `traits.user_id` is. */
  readonly userId?: string;
  readonly action?: AuditAction;
  readonly logType?: AuditLogType;
  /** Case-insensitive substring of `actor_username` or `actor_name` (GoTrue's `author:` query). */
  readonly author?: string;
  /** Entries at or after this instant. */
  readonly since?: Date;
  /** Entries before this instant. */
  readonly until?: Date;
}

/** A page of entries, newest first. */
export interface AuditPage {
  readonly entries: AuditEntryJson[];
  /** Entries matching the filter, over all pages. */
  readonly total: number;
}

interface AuditRow {
  id: string;
  payload: AuditPayload | string;
  created_at: Date;
  ip_address: string;
  [column: string]: unknown;
}

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

function where(filter: AuditFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (n: string) => string, value: unknown) => {
    params.push(value);
    clauses.push(clause(`$${params.length}`));
  };
  if (filter.userId !== undefined) add((n) => `(payload ->> 'actor_id' = ${n} or (payload -> 'traits') ->> 'user_id' = ${n})`, filter.userId);
  if (filter.action !== undefined) add((n) => `payload ->> 'action' = ${n}`, filter.action);
  if (filter.logType !== undefined) add((n) => `payload ->> 'log_type' = ${n}`, filter.logType);
  if (filter.author !== undefined) add((n) => `(payload ->> 'actor_username' ilike ${n} or payload ->> 'actor_name' ilike ${n})`, likePattern(filter.author));
  if (filter.since !== undefined) add((n) => `created_at >= ${n}`, filter.since);
  if (filter.until !== undefined) add((n) => `created_at < ${n}`, filter.until);
  return { sql: clauses.length > 0 ? `where ${clauses.join(' and ')}` : '', params };
}

/** Reads one page (1-based) of the audit log, newest first. */
export async function readAuditLog(db: Queryable, filter: AuditFilter, page: number, perPage: number): Promise<AuditPage> {
  const { sql, params } = where(filter);
  const [list, count] = await Promise.all([
    db.query<AuditRow>(
      `select id, payload, created_at, ip_address from auth.audit_log_entries ${sql}
        order by created_at desc, seq desc limit $${params.length + 1} offset $${params.length + 2}`,
      [...params, perPage, (page - 1) * perPage],
    ),
    db.query<{ total: number | string }>(`select count(*)::int8 as total from auth.audit_log_entries ${sql}`, params),
  ]);
  return {
    entries: list.rows.map((row) => ({
      id: row.id,
      payload: typeof row.payload === 'string' ? (JSON.parse(row.payload) as AuditPayload) : row.payload,
      created_at: row.created_at.toISOString(),
      ip_address: row.ip_address,
    })),
    total: Number(count.rows[0]?.total ?? 0),
  };
}

/** Deletes the entries written before `before`; returns how many went. */
export async function pruneAuditLog(db: Queryable, before: Date): Promise<number> {
  const { rowCount } = await db.query('delete from auth.audit_log_entries where created_at < $1', [before]);
  return rowCount;
}

/** An audit entry to store. */
export interface NewAuditEntry {
  readonly id: string;
  readonly payload: AuditPayload;
  readonly ipAddress: string;
}

/**
 * Stores entries in one statement, stamped with `clock_timestamp()`, not `now()`: entries of one
 * transaction keep the order they happened in.
 */
export async function insertAuditEntries(tx: Queryable, entries: readonly NewAuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const params: unknown[] = [];
  const rows = entries.map((entry) => {
    params.push(entry.id, JSON.stringify(entry.payload), entry.ipAddress);
    const n = params.length;
    return `($${n - 2}::uuid, $${n - 1}::json, $${n}, clock_timestamp())`;
  });
  await tx.query(`insert into auth.audit_log_entries (id, payload, ip_address, created_at) values ${rows.join(', ')}`, params);
}
