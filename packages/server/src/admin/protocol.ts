/**
 * The admin channel between the `latchkey` command and a running server: HTTP/1.1 with JSON bodies over
 * a Unix socket in the data directory (`<data dir>/admin.sock`, mode 0600). Only the owner of the data
 * directory can connect; there is no other authentication. Every request names the database it means
 * in the {@link DATABASE_HEADER} header, and a server on another database answers 409
 * `database_mismatch`, so a command never acts on the wrong data.
 *
 * | method and path | body | answer |
 * |---|---|---|
 * | `GET /status` | | {@link StatusReport} |
 * | `GET /keys` | | {@link KeysReport} |
 * | `POST /keys/rotate` | | {@link RotationReport} |
 * | `GET /clients` | | `{clients: ClientJson[]}` |
 * | `POST /clients` | {@link NewClientInput} | `ClientJson` with `client_secret` (201) |
 * | `DELETE /clients/{id}` | | `ClientJson` |
 * | `POST /users` | {@link NewUserInput} | {@link CreatedUser} (201) |
 * | `GET /mail?to=&limit=` | | `{messages: […]}` |
 * | `GET /audit?user_id=&action=&since=&until=&limit=` | | `{entries: […], total}` |
 * | `POST /audit/prune` | {@link AuditPruneInput} | `{deleted}` |
 * | `GET /sms?to=&limit=` | | `{messages: […]}` |
 * | `POST /migrate` | | `{applied, alreadyApplied}` |
 *
 * Failures answer `{code, message}` with the status of {@link ADMIN_ERROR_STATUS}.
 *
 * @module
 */
import path from 'node:path';

/** File name of the admin socket inside the data directory. */
export const ADMIN_SOCKET_NAME = 'admin.sock';

/** Request header naming the database the caller means (see {@link databaseIdentity}). */
export const DATABASE_HEADER = 'latchkey-database';

/** Where the admin socket of a server using `dataDir` lives. */
export function adminSocketPath(dataDir: string): string {
  return path.join(dataDir, ADMIN_SOCKET_NAME);
}

/** Stable codes of admin failures, shared by the socket and the direct path. */
export type AdminErrorCode =
  | 'no_database'
  | 'not_migrated'
  | 'no_keys'
  | 'keys_from_environment'
  | 'organization_not_found'
  | 'client_not_found'
  | 'email_exists'
  | 'weak_password'
  | 'identity_not_mounted'
  | 'database_mismatch'
  | 'bad_request'
  | 'not_found';

/** HTTP status of each code on the socket. */
export const ADMIN_ERROR_STATUS: Readonly<Record<AdminErrorCode, number>> = {
  no_database: 404,
  not_migrated: 409,
  no_keys: 404,
  keys_from_environment: 409,
  organization_not_found: 422,
  client_not_found: 404,
  email_exists: 422,
  weak_password: 422,
  identity_not_mounted: 409,
  database_mismatch: 409,
  bad_request: 400,
  not_found: 404,
};

/** A refused admin operation; `code` is stable. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  readonly code: AdminErrorCode;

  constructor(code: AdminErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** `GET /keys`: the API keys in use and the key that signs tokens. */
export interface KeysReport {
  readonly anon_key: string;
  readonly service_role_key: string;
  /** `kid` of the current signing key; `null` when unknown (keys from `LATCHKEY_JWT_KEYS` without a kid). */
  readonly signing_kid: string | null;
  /** `database` (`auth.signing_keys`) or `environment` (`LATCHKEY_JWT_KEYS`). */
  readonly signing_keys_source: 'database' | 'environment';
  /** Retired keys still in the JWKS, each with the ISO time until which it verifies (`null`: until removed). Empty for keys from the environment. */
  readonly retired_keys: readonly RetiredKey[];
}

/** A retired signing key that is still published. */
export interface RetiredKey {
  readonly kid: string;
  readonly verify_until: string | null;
}

/** `POST /keys/rotate`. */
export interface RotationReport {
  readonly kid: string;
  readonly retired_kid: string | null;
  /** ISO time until which the retired key stays published. */
  readonly retired_verify_until: string | null;
}

/** `POST /clients`. */
export interface NewClientInput {
  readonly client_name: string;
  readonly scopes: readonly string[];
  readonly organization_id: string | null;
}

/** `POST /users`: a user with a password, confirmed; `admin` gives it an admin role. */
export interface NewUserInput {
  readonly email: string;
  readonly password: string;
  readonly admin: boolean;
}

/** The user `POST /users` created. */
export interface CreatedUser {
  readonly id: string;
  readonly email: string;
  readonly role: string;
}

/** `GET /mail`. */
export interface MailQuery {
  readonly to?: string;
  /** Newest first; default 10. */
  readonly limit?: number;
}

/** `GET /audit`: newest first. */
export interface AuditQuery {
  readonly user_id?: string;
  readonly action?: string;
  /** ISO 8601 instants. */
  readonly since?: string;
  readonly until?: string;
  /** Default 50, at most 1000. */
  readonly limit?: number;
}

/** `POST /audit/prune`: deletes entries written before `before` (ISO 8601). */
export interface AuditPruneInput {
  readonly before: string;
}
/** `GET /sms`: `to` is a phone number, with or without its `+`. */
export type SmsQuery = MailQuery;

/** `GET /status`: what a running server is, where it listens and where its data lives. */
export interface StatusReport {
  readonly running: true;
  readonly pid: number;
  readonly started_at: string;
  /** Address the process listens on. */
  readonly url: string;
  /** Base URL clients use (`LATCHKEY_PUBLIC_URL`, else `url`). */
  readonly public_url: string;
  readonly urls: {
    readonly health: string;
    readonly identity: string | null;
    readonly jwks: string | null;
    readonly gateway: string | null;
    readonly api: string | null;
  };
  readonly database: { readonly kind: 'pglite' | 'postgres'; readonly location: string };
  readonly data_dir: string;
  readonly admin_socket: string;
  readonly anon_key: string | null;
  readonly service_role_key: string | null;
}
