import { randomUUID } from 'node:crypto';
import type { Database } from '../db/index.js';
import { migrate, type MigrationReport } from '../db/index.js';
import { rotateSigningKey, KeyStore, type RotationResult } from '../identity/keys/key-store.js';
import { clientJson, createOAuthClient, deleteOAuthClient, listOAuthClients, type ClientJson } from '../identity/oauth/clients.js';
import type { IdentitySettings } from '../identity/settings.js';
import { createRevocationRecorder } from '../revocation/revocations.js';
import type { RevocationRecorder } from '../revocation/types.js';
import { outboxJson, readOutbox } from '../mail/index.js';
import { readSmsOutbox, smsOutboxJson } from '../sms/index.js';
import { AdminError, type AuditPruneInput, type AuditQuery, type KeysReport, type MailQuery, type SmsQuery, type NewClientInput, type NewUserInput, type CreatedUser, type RotationReport } from './protocol.js';
import { isAuditAction, pruneAuditLog, readAuditLog, type AuditEntryJson, type AuditFilter } from '../identity/audit/index.js';
import { isUuid } from '../identity/users.js';
import { insertUser } from '../identity/store/users.js';
import { checkNewPassword, PasswordHasher } from '../identity/passwords.js';
import { IdentityError } from '../identity/errors.js';

/**
 * What the admin commands do, whichever way they reach the data: a running server answers them over
 * its admin socket with the operations of its own database, and the `latchkey` command runs the same
 * operations itself when no server holds the database. Operations that read never write.
 */
export interface AdminOperations {
  /** The API keys and the signing key; `no_keys` when none were ever generated (nothing is created). */
  keys(): Promise<KeysReport>;
  /** Adds a signing key; `keys_from_environment` when the keys come from `LATCHKEY_JWT_KEYS`. */
  rotateKeys(): Promise<RotationReport>;
  listClients(): Promise<{ clients: ClientJson[] }>;
  /** `organization_not_found` for an unknown organization. The answer carries `client_secret`. */
  createClient(input: NewClientInput): Promise<ClientJson>;
  /** `client_not_found` when there is no such client. */
  deleteClient(id: string): Promise<ClientJson>;
  /**
   * Creates a confirmed user with a password; with `admin`, its role is the first of the admin roles
   * that is not `service_role` (`supabase_admin` by default), so it can sign in to the admin console.
   * `email_exists`, `weak_password`, `bad_request`.
   */
  createUser(input: NewUserInput): Promise<CreatedUser>;
  mail(query: MailQuery): Promise<{ messages: Array<Record<string, unknown>> }>;
  /** The audit log, newest first; `bad_request` for a malformed filter. */
  audit(query: AuditQuery): Promise<{ entries: AuditEntryJson[]; total: number }>;
  /** Deletes audit entries written before `input.before`. */
  pruneAudit(input: AuditPruneInput): Promise<{ deleted: number }>;
  /** The development SMS outbox, newest first. */
  sms(query: SmsQuery): Promise<{ messages: Array<Record<string, unknown>> }>;
  migrate(): Promise<MigrationReport>;
}

function instantOf(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) throw new AdminError('bad_request', `${name} must be an ISO 8601 date or time`);
  return date;
}

/** The filter of an audit query, checked as `GET /admin/audit` checks it; `bad_request` otherwise. */
export function auditFilter(query: AuditQuery): AuditFilter {
  if (query.user_id !== undefined && !isUuid(query.user_id)) throw new AdminError('bad_request', 'user_id must be a UUID');
  if (query.action !== undefined && !isAuditAction(query.action)) throw new AdminError('bad_request', `unknown audit action ${JSON.stringify(query.action)}`);
  if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > 1000)) throw new AdminError('bad_request', 'limit must be from 1 to 1000');
  const since = instantOf(query.since, 'since');
  const until = instantOf(query.until, 'until');
  return {
    ...(query.user_id !== undefined ? { userId: query.user_id.toLowerCase() } : {}),
    ...(query.action !== undefined && isAuditAction(query.action) ? { action: query.action } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
  };
}

/** What the stored API keys look like in `latchkey.settings` (written by the identity service). */
interface StoredApiKeys {
  readonly anon_key?: unknown;
  readonly service_role_key?: unknown;
}

/** PostgreSQL's "undefined table": the schema was never migrated. */
const UNDEFINED_TABLE = '42P01';

function isUndefinedTable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === UNDEFINED_TABLE;
}

/** Runs a read; a database without the schema is `not_migrated` (or `fallback` when given). */
async function reading<T>(work: () => Promise<T>, fallback?: () => T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isUndefinedTable(error)) throw error;
    if (fallback) return fallback();
    throw new AdminError('not_migrated', 'the database has no Latchkey schema yet: start the server once, or run `latchkey migrate`');
  }
}

/** The rotation result as the admin channel reports it. */
export function rotationReport(result: RotationResult): RotationReport {
  return { kid: result.kid, retired_kid: result.retiredKid, retired_verify_until: result.verifyUntil?.toISOString() ?? null };
}

const NO_KEYS = 'no API keys yet: start the server once (`latchkey serve`) to generate them';

/**
 * Reads the API keys a server would use — `LATCHKEY_ANON_KEY` / `LATCHKEY_SERVICE_ROLE_KEY`, else the
 * stored ones — and the current signing key, without generating anything.
 */
export async function readKeys(db: Database, settings: IdentitySettings): Promise<KeysReport> {
  const stored = await reading(
    async () => (await db.query<{ value: StoredApiKeys }>(`select value from latchkey.settings where key = 'identity.api_keys'`)).rows[0]?.value ?? null,
    () => null,
  );
  const anon = settings.anonKey ?? (typeof stored?.anon_key === 'string' ? stored.anon_key : null);
  const serviceRole = settings.serviceRoleKey ?? (typeof stored?.service_role_key === 'string' ? stored.service_role_key : null);
  if (anon === null || serviceRole === null) throw new AdminError('no_keys', NO_KEYS);
  return { anon_key: anon, service_role_key: serviceRole, ...(await readSigningKey(db, settings)) };
}

/** The `kid` new tokens are signed with, as stored (`null` for keys from the environment). */
export async function readSigningKey(db: Database, settings: IdentitySettings): Promise<Pick<KeysReport, 'signing_kid' | 'signing_keys_source' | 'retired_keys'>> {
  if (settings.jwtKeys) return { signing_kid: null, signing_keys_source: 'environment', retired_keys: [] };
  const rows = await reading(
    async () =>
      (
        await db.query<{ kid: string; retired_at: Date | null; verify_until: Date | null }>(
          'select kid, retired_at, verify_until from auth.signing_keys where retired_at is null or verify_until is null or verify_until > now() order by retired_at desc nulls first',
        )
      ).rows,
    () => [],
  );
  const retired = rows.filter((row) => row.retired_at !== null).map((row) => ({ kid: row.kid, verify_until: row.verify_until ? new Date(row.verify_until).toISOString() : null }));
  return { signing_kid: rows.find((row) => row.retired_at === null)?.kid ?? null, signing_keys_source: 'database', retired_keys: retired };
}

/** Refuses a rotation of keys that come from the environment. */
export function assertRotatable(settings: IdentitySettings): void {
  if (settings.jwtKeys) {
    throw new AdminError('keys_from_environment', `${settings.jwtKeys.name}: signing keys come from this variable; rotate them there`);
  }
}

/**
 * The admin operations over an open database. Writes (`rotateKeys`, `createClient`, `deleteClient`,
 * `migrate`) bring the schema up to date first; reads never do. Revocation events (a deleted client's)
 * go to `revocations`; by default they are only stored, and serving nodes pick them up from the database.
 */
export function databaseOperations(
  db: Database,
  settings: IdentitySettings,
  revocations: RevocationRecorder = createRevocationRecorder({ tokenLifetime: settings.jwtExpiry }),
  passwords: PasswordHasher = new PasswordHasher(),
): AdminOperations {
  return {
    keys: () => readKeys(db, settings),
    async rotateKeys() {
      assertRotatable(settings);
      await migrate(db);
      await KeyStore.open(db, settings);
      return rotationReport(await rotateSigningKey(db, settings));
    },
    async listClients() {
      const rows = await reading(() => listOAuthClients(db), () => []);
      return { clients: rows.map((row) => clientJson(row)) };
    },
    async createClient(input) {
      await migrate(db);
      try {
        const created = await createOAuthClient(db, { name: input.client_name, scopes: input.scopes, organizationId: input.organization_id });
        return clientJson(created.row, created.secret);
      } catch (error) {
        if ((error as { code?: unknown }).code === '23503') throw new AdminError('organization_not_found', `organization ${input.organization_id} does not exist`);
        throw error;
      }
    },
    async createUser(input) {
      const email = input.email.trim().toLowerCase();
      if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 255) throw new AdminError('bad_request', 'email must be an e-mail address');
      try {
        checkNewPassword(input.password, settings.passwordMinLength);
      } catch (error) {
        if (error instanceof IdentityError) throw new AdminError('weak_password', error.message);
        throw error;
      }
      const role = input.admin ? (settings.adminRoles.find((name) => name !== 'service_role') ?? settings.adminRoles[0] ?? 'service_role') : settings.defaultRole;
      await migrate(db);
      const passwordHash = await passwords.hash(input.password);
      const id = randomUUID();
      const taken = await db.transaction((tx) =>
        insertUser(tx, { id, audience: settings.audience, role, email, phone: null, passwordHash, emailConfirm: true, phoneConfirm: false, appMetadata: {}, userMetadata: {}, banMs: 0 }),
      );
      if (taken) throw new AdminError('email_exists', `a user with the e-mail address ${email} already exists`);
      return { id, email, role };
    },
    async deleteClient(id) {
      const row = await reading(() => deleteOAuthClient(db, id, revocations), () => null);
      if (!row) throw new AdminError('client_not_found', `no client ${id}`);
      return clientJson(row);
    },
    async mail(query) {
      const rows = await reading(
        () => readOutbox(db, { ...(query.to !== undefined ? { recipient: query.to } : {}), limit: query.limit ?? 10 }),
        () => [],
      );
      return { messages: rows.map(outboxJson) };
    },
    async audit(query) {
      const filter = auditFilter(query);
      return reading(() => readAuditLog(db, filter, 1, query.limit ?? 50), () => ({ entries: [], total: 0 }));
    },
    async pruneAudit(input) {
      const before = instantOf(input.before, 'before');
      if (!before) throw new AdminError('bad_request', 'before is required');
      return { deleted: await reading(() => pruneAuditLog(db, before), () => 0) };
    },
    async sms(query) {
      const rows = await reading(
        () => readSmsOutbox(db, { ...(query.to !== undefined ? { recipient: query.to } : {}), limit: query.limit ?? 10 }),
        () => [],
      );
      return { messages: rows.map(smsOutboxJson) };
    },
    migrate: () => migrate(db),
  };
}
