import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database, Queryable } from '../../db/index.js';
import type { RevocationRecorder } from '../../revocation/types.js';

/** Grant types a client may be registered for. */
export type ClientGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';
/** How a client authenticates at the token endpoint (RFC 7591). */
export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';
/** `public` clients have no secret; `confidential` ones authenticate with theirs. */
export type ClientType = 'public' | 'confidential';

/** A row of `auth.oauth_clients`. */
export interface ClientRow {
  [column: string]: unknown;
  id: string;
  /** SHA-256 of the secret; `null` for a public client. */
  secret_hash: Uint8Array | null;
  name: string;
  scopes: string[];
  organization_id: string | null;
  client_type: ClientType;
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  grant_types: ClientGrantType[];
  redirect_uris: string[];
  client_uri: string | null;
  logo_uri: string | null;
  registration_type: string;
  created_at: Date;
  updated_at: Date;
}

/**
 * A client as the admin API shows it: GoTrue's fields (`client_id`, `client_type`, `redirect_uris`,
 * `token_endpoint_auth_method`, `grant_types`, `response_types`, `client_name`, `client_uri`, `logo_uri`,
 * `registration_type`, timestamps; empty ones left out as GoTrue does) and Latchkey's (`scopes`,
 * `organization_id`). The secret appears only in the answers to creation and regeneration.
 */
export interface ClientJson {
  client_id: string;
  client_secret?: string;
  client_type: ClientType;
  redirect_uris?: string[];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  grant_types: ClientGrantType[];
  response_types?: ['code'];
  client_name?: string;
  client_uri?: string;
  logo_uri?: string;
  registration_type: string;
  scopes: string[];
  organization_id: string | null;
  created_at: string;
  updated_at: string;
}

/** One scope token (RFC 6749 §3.3: printable ASCII without space, `"` or `\`). */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function clientJson(row: ClientRow, secret?: string): ClientJson {
  const json: ClientJson = {
    client_id: row.id,
    client_type: row.client_type,
    token_endpoint_auth_method: row.token_endpoint_auth_method,
    grant_types: row.grant_types,
    registration_type: row.registration_type,
    scopes: row.scopes,
    organization_id: row.organization_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
  if (secret !== undefined) json.client_secret = secret;
  if (row.redirect_uris.length > 0) json.redirect_uris = row.redirect_uris;
  if (row.grant_types.includes('authorization_code')) json.response_types = ['code'];
  if (row.name !== '') json.client_name = row.name;
  if (row.client_uri) json.client_uri = row.client_uri;
  if (row.logo_uri) json.logo_uri = row.logo_uri;
  return json;
}

function digest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** What {@link createOAuthClient} needs; the registration fields default to a client credentials client. */
export interface NewClient {
  readonly name: string;
  readonly scopes: readonly string[];
  readonly organizationId: string | null;
  /** Default `confidential`. */
  readonly clientType?: ClientType;
  /** Default `client_secret_basic` (`none` for a public client). */
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /** Default `["client_credentials"]`. */
  readonly grantTypes?: readonly ClientGrantType[];
  readonly redirectUris?: readonly string[];
  readonly clientUri?: string | null;
  readonly logoUri?: string | null;
}

function newSecret(): { secret: string; hash: Buffer } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, hash: digest(secret) };
}

/**
 * Registers a client: a random id (`lkc_` + 24 hex digits, never a UUID) and, for a confidential
 * client, a random 256-bit secret stored as its SHA-256 digest. Returns the row and the secret (`undefined`
 * for a public client), which is never readable again.
 */
export async function createOAuthClient(db: Queryable, client: NewClient): Promise<{ row: ClientRow; secret: string | undefined }> {
  const id = `lkc_${randomBytes(12).toString('hex')}`;
  const clientType = client.clientType ?? 'confidential';
  const secret = clientType === 'confidential' ? newSecret() : null;
  const { rows } = await db.query<ClientRow>(
    `insert into auth.oauth_clients (id, secret_hash, name, scopes, organization_id, client_type, token_endpoint_auth_method,
                                     grant_types, redirect_uris, client_uri, logo_uri)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning *`,
    [
      id,
      secret?.hash ?? null,
      client.name,
      JSON.stringify([...new Set(client.scopes)]),
      client.organizationId,
      clientType,
      client.tokenEndpointAuthMethod ?? (clientType === 'public' ? 'none' : 'client_secret_basic'),
      JSON.stringify([...new Set(client.grantTypes ?? ['client_credentials'])]),
      JSON.stringify([...(client.redirectUris ?? [])]),
      client.clientUri ?? null,
      client.logoUri ?? null,
    ],
  );
  return { row: rows[0]!, secret: secret?.secret };
}

/** The client with id `id`, or `null`. */
export async function findOAuthClient(db: Queryable, id: string): Promise<ClientRow | null> {
  const { rows } = await db.query<ClientRow>('select * from auth.oauth_clients where id = $1', [id]);
  return rows[0] ?? null;
}

/** What {@link updateOAuthClient} changes; absent fields stay. */
export interface ClientChanges {
  readonly name?: string;
  readonly redirectUris?: readonly string[];
  readonly grantTypes?: readonly ClientGrantType[];
  readonly clientUri?: string | null;
  readonly logoUri?: string | null;
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
}

/** Applies `changes` to the client; the updated row, or `null` when there is no such client. */
export async function updateOAuthClient(db: Queryable, id: string, changes: ClientChanges): Promise<ClientRow | null> {
  const { rows } = await db.query<ClientRow>(
    `update auth.oauth_clients set
        name = coalesce($2, name),
        redirect_uris = coalesce($3::jsonb, redirect_uris),
        grant_types = coalesce($4::jsonb, grant_types),
        client_uri = case when $5::boolean then $6 else client_uri end,
        logo_uri = case when $7::boolean then $8 else logo_uri end,
        token_endpoint_auth_method = coalesce($9, token_endpoint_auth_method),
        updated_at = now()
      where id = $1 returning *`,
    [
      id,
      changes.name ?? null,
      changes.redirectUris ? JSON.stringify([...changes.redirectUris]) : null,
      changes.grantTypes ? JSON.stringify([...new Set(changes.grantTypes)]) : null,
      changes.clientUri !== undefined,
      changes.clientUri ?? null,
      changes.logoUri !== undefined,
      changes.logoUri ?? null,
      changes.tokenEndpointAuthMethod ?? null,
    ],
  );
  return rows[0] ?? null;
}

/**
 * Gives a confidential client a new secret (the old one stops working at once); the row and the new
 * secret, or `null` when there is no such client. The caller refuses public clients.
 */
export async function regenerateOAuthClientSecret(db: Queryable, id: string): Promise<{ row: ClientRow; secret: string } | null> {
  const { secret, hash } = newSecret();
  const { rows } = await db.query<ClientRow>(
    `update auth.oauth_clients set secret_hash = $2, updated_at = now() where id = $1 and client_type = 'confidential' returning *`,
    [id, hash],
  );
  return rows[0] ? { row: rows[0], secret } : null;
}

/** Every client, newest first; or one page of them (1-based) with the total. */
export async function listOAuthClients(db: Queryable): Promise<ClientRow[]>;
export async function listOAuthClients(db: Queryable, page: { readonly page: number; readonly perPage: number }): Promise<{ rows: ClientRow[]; total: number }>;
export async function listOAuthClients(
  db: Queryable,
  page?: { readonly page: number; readonly perPage: number },
): Promise<ClientRow[] | { rows: ClientRow[]; total: number }> {
  if (!page) return (await db.query<ClientRow>('select * from auth.oauth_clients order by created_at desc, id')).rows;
  const [list, count] = await Promise.all([
    db.query<ClientRow>('select * from auth.oauth_clients order by created_at desc, id limit $1 offset $2', [page.perPage, (page.page - 1) * page.perPage]),
    db.query<{ total: number | string }>('select count(*)::int8 as total from auth.oauth_clients'),
  ]);
  return { rows: list.rows, total: Number(count.rows[0]?.total ?? 0) };
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
  // A public client has no secret: it never authenticates with one.
  const stored = row?.secret_hash ? Buffer.from(row.secret_hash) : UNKNOWN_CLIENT_DIGEST;
  const same = stored.length === 32 && timingSafeEqual(stored, digest(secret));
  return row?.secret_hash && same ? row : null;
}
