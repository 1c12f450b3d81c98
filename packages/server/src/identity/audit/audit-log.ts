import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { AUDIT_LOG_TYPES, type AuditAction, type AuditLogType } from './actions.js';
import { insertAuditEntries } from '../store/audit.js';

/** The actor id GoTrue records for the service role and other admin tokens without a user. */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** Who did what an entry records: a user, or an admin role (`NIL_UUID` and the role's name). */
export interface AuditActor {
  readonly id: string;
  /** The user's phone when set, else their email; the role's name for an admin token. */
  readonly username: string;
  /** `user_metadata.full_name` of the user, when they have one. */
  readonly name?: unknown;
}

/** The actor for a user row (GoTrue's rule: the phone when set, else the email). */
export function userActor(user: {
  readonly id: string;
  readonly email: string | null;
  readonly phone: string | null;
  readonly raw_user_meta_data?: Record<string, unknown> | null;
}): AuditActor {
  const name = user.raw_user_meta_data?.full_name;
  return { id: user.id, username: user.phone || user.email || '', ...(name !== undefined ? { name } : {}) };
}

/** The actor for an admin token without a user: `role` is the token's role (e.g. `service_role`). */
export function adminActor(role = 'service_role'): AuditActor {
  return { id: NIL_UUID, username: role };
}

/** One thing to record. */
export interface AuditRecord {
  readonly action: AuditAction;
  readonly actor: AuditActor;
  /** Facts about the action (`user_id`, `user_email`, `factor_id`, `provider`…), kept in `payload.traits`. */
  readonly traits?: Readonly<Record<string, unknown>>;
  /** The client address of the request, when known. */
  readonly ipAddress?: string | undefined;
}

/** `payload` of an entry, as GoTrue writes it. */
export interface AuditPayload {
  actor_id: string;
  actor_via_sso: boolean;
  actor_username: string;
  actor_name?: unknown;
  action: AuditAction;
  log_type: AuditLogType;
  traits?: Record<string, unknown>;
}

/** An entry as the admin API returns it (GoTrue's shape; `instance_id` is not shown). */
export interface AuditEntryJson {
  id: string;
  payload: AuditPayload;
  created_at: string;
  ip_address: string;
}

/** Writes audit entries; identity code receives one and calls {@link AuditWriter.record} in its transaction. */
export interface AuditWriter {
  /**
   * Records `entries` (one statement) inside `tx`, the transaction of the action they record: if the
   * action rolls back, so do its entries.
   *
   * @example
   * ```ts
   * await db.transaction(async (tx) => {
   *   await deleteUser(tx, id);
   *   await audit.record(tx, { action: 'user_deleted', actor: adminActor(), traits: { user_id: id } });
   * });
   * ```
   */
  record(tx: Queryable, ...entries: AuditRecord[]): Promise<void>;
}

/** Builds the stored payload of an entry. */
export function auditPayload(entry: AuditRecord): AuditPayload {
  const payload: AuditPayload = {
    actor_id: entry.actor.id,
    actor_via_sso: false,
    actor_username: entry.actor.username,
    action: entry.action,
    log_type: AUDIT_LOG_TYPES[entry.action],
  };
  if (entry.actor.name !== undefined) payload.actor_name = entry.actor.name;
  if (entry.traits !== undefined) payload.traits = { ...entry.traits };
  return payload;
}

/**
 * The audit log in `auth.audit_log_entries`. With `enabled: false`
 * (`LATCHKEY_AUDIT_LOG_DISABLE_POSTGRES` / `GOTRUE_AUDIT_LOG_DISABLE_POSTGRES`) nothing is written.
 */
export class AuditLog implements AuditWriter {
  readonly enabled: boolean;

  constructor(options: { readonly enabled: boolean }) {
    this.enabled = options.enabled;
  }

  async record(tx: Queryable, ...entries: AuditRecord[]): Promise<void> {
    if (!this.enabled || entries.length === 0) return;
    await insertAuditEntries(
      tx,
      entries.map((entry) => ({ id: randomUUID(), payload: auditPayload(entry), ipAddress: (entry.ipAddress ?? '').slice(0, 64) })),
    );
  }
}
