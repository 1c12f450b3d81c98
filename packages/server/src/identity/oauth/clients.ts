import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database, Queryable } from '../../db/index.js';
import type { RevocationRecorder } from '../../revocation/types.js';

/** A row of `auth.oauth_clients`. */
export interface ClientRow {
  [column: string]: unknown;
  id: string;
  secret_hash: Uint8Array;
  name: string;
  scopes: string[];
  organization_id: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A client as the admin API shows it. The secret appears only in the answer to its creation. */
export interface ClientJson {
  client_id: string;
  client_name: string;
  client_type: 'confidential';
  grant_types: ['client_credentials'];
  token_endpoint_auth_methods: ['client_secret_basic', 'client_secret_post'];
  scopes: string[];
  organization_id: string | null;
  created_at: string;
  updated_at: string;
  client_secret?: string;
}

/** One scope token (RFC 6749 §3.3: printable ASCII without space, `"` or `\`). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function clientJson(row: ClientRow, secret?: string): ClientJson {
  const json: ClientJson = {
    client_id: row.id,
    client_name: row.name,
    client_type: 'confidential',
    grant_types: ['client_credentials'],
    token_endpoint_auth_methods: ['client_secret_basic', 'client_secret_post'],
    scopes: row.scopes,
    organization_id: row.organization_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
  if (secret !== undefined) json.client_secret = secret;
  return json;
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** What {@link createOAuthClient} needs. */
export interface NewClient {
  readonly name: string;
  readonly scopes: readonly string[];
  readonly organizationId: string | null;
}

/**
 * Registers a confidential client: a random id (`lkc_` + 24 hex digits) and a random 256-bit secret,
 * stored as its SHA-256 digest. Returns the row and the secret, which is never readable again.
 */
export async function createOAuthClient(db: Queryable, client: NewClient): Promise<{ row: ClientRow; secret: string }> {
  const id = `lkc_${randomBytes(12).toString('hex')}`;
  const secret = randomBytes(32).toString('base64url');
  const { rows } = await db.query<ClientRow>(
    `insert into auth.oauth_clients (id, secret_hash, name, scopes, organization_id) values ($1, $2, $3, $4, $5) returning *`,
    [id, digest(secret), client.name, JSON.stringify([...new Set(client.scopes)]), client.organizationId],
  );
  return { row: rows[0]!, secret };
}

/** Every client, newest first. */
export async function listOAuthClients(db: Queryable): Promise<ClientRow[]> {
  const { rows } = await db.query<ClientRow>('select * from auth.oauth_clients order by created_at desc, id');
  return rows;
}

/**
 * Deletes a client and records an `oauth_client_deleted` revocation event in the same transaction,
 * announced after commit, so the tokens it was issued stop working; the row it had, or `null` when
 * there was none.
 */
export async function deleteOAuthClient(db: Database, id: string, revocations: RevocationRecorder): Promise<ClientRow | null> {
  const deleted = await db.transaction(async (tx) => {
    const { rows } = await tx.query<ClientRow>('delete from auth.oauth_clients where id = $1 returning *', [id]);
    const row = rows[0];
    return row ? { row, event: await revocations.record(tx, { kind: 'oauth_client_deleted', clientId: row.id }) } : null;
  });
  if (!deleted) return null;
  await revocations.announce(deleted.event);
  return deleted.row;
}

const UNKNOWN_CLIENT_DIGEST = digest(randomBytes(32).toString('base64url'));

/**
 * Checks a client's credentials. The presented secret's digest is compared in constant time with the
 * stored one (or with a random digest for an unknown id, so both cases cost the same). `null` when the
 * id is unknown or the secret wrong.
 */
export async function authenticateOAuthClient(db: Queryable, id: string, secret: string): Promise<ClientRow | null> {
  const { rows } = await db.query<ClientRow>('select * from auth.oauth_clients where id = $1', [id]);
  const row = rows[0];
  const stored = row ? Buffer.from(row.secret_hash) : UNKNOWN_CLIENT_DIGEST;
  const same = stored.length === 32 && timingSafeEqual(stored, digest(secret));
  return row && same ? row : null;
}
