import { validationFailed } from '../errors.js';
import { isUuid } from '../users.js';
import { SCOPE_TOKEN, type ClientChanges, type ClientGrantType, type ClientRow, type ClientType, type NewClient, type TokenEndpointAuthMethod } from './clients.js';

const GRANT_TYPES: readonly ClientGrantType[] = ['authorization_code', 'refresh_token', 'client_credentials'];
const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post'];
const DANGEROUS_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'about:', 'blob:']);
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function text(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validationFailed(`${field} must be a string`);
  return value;
}

function list(body: Record<string, unknown>, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) throw validationFailed(`${field} must be an array of strings`);
  return value;
}

/** Why a redirect URI is refused (GoTrue's rules), or `null` when it is acceptable. */
function redirectUriProblem(uri: string): string | null {
  if (uri === '') return 'redirect URI cannot be empty';
  if (!URL.canParse(uri)) return 'invalid URL format';
  const url = new URL(uri);
  if (DANGEROUS_SCHEMES.has(url.protocol.toLowerCase())) return `scheme '${url.protocol.slice(0, -1)}' is not allowed for security reasons`;
  if (url.host === '') return 'must have scheme and host';
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) return 'HTTP scheme only allowed for localhost';
  if (url.hash !== '' || uri.includes('#')) return 'fragment not allowed in redirect URI';
  return null;
}

function redirectUris(values: string[], required: boolean): string[] {
  if (required && values.length === 0) throw validationFailed('redirect_uris is required');
  if (values.length > 10) throw validationFailed('redirect_uris cannot exceed 10 items');
  for (const uri of values) {
    const problem = redirectUriProblem(uri);
    if (problem) throw validationFailed(`invalid redirect_uri '${uri}': ${problem}`);
  }
  return values;
}

function grantTypes(values: string[]): ClientGrantType[] {
  if (values.length === 0) throw validationFailed('grant_types cannot be empty');
  if (!values.every((value): value is ClientGrantType => (GRANT_TYPES as readonly string[]).includes(value))) {
    throw validationFailed("grant_types must only contain 'authorization_code', 'refresh_token' and/or 'client_credentials'");
  }
  return values;
}

function optionalUri(value: string | undefined, field: string): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === '') return null;
  if (value.length > 2048) throw validationFailed(`${field} cannot exceed 2048 characters`);
  if (!URL.canParse(value) || !/^[a-z][a-z0-9+.-]*:/i.test(value)) throw validationFailed(`${field} must be a valid URL`);
  return value;
}

function clientName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const name = value.trim();
  if (name.length > 1024) throw validationFailed('client_name cannot exceed 1024 characters');
  return name;
}

function authMethod(value: string | undefined, message: string): TokenEndpointAuthMethod | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(AUTH_METHODS as readonly string[]).includes(value)) throw validationFailed(`${message}: must be one of [${AUTH_METHODS.join(' ')}]`);
  return value as TokenEndpointAuthMethod;
}

/** The client type an auth method implies: `none` is a public client. */
function typeOfMethod(method: TokenEndpointAuthMethod): ClientType {
  return method === 'none' ? 'public' : 'confidential';
}

/** `scopes` as an array of scope tokens or one space-separated string. */
function scopesOf(body: Record<string, unknown>): string[] {
  const value = body.scopes ?? body.scope;
  if (value === undefined || value === null) return [];
  const items = typeof value === 'string' ? value.split(' ').filter((part) => part !== '') : value;
  if (!Array.isArray(items) || !items.every((scope): scope is string => typeof scope === 'string' && SCOPE_TOKEN.test(scope))) {
    throw validationFailed('scopes must be an array of scope tokens (printable ASCII, no spaces, quotes or backslashes)');
  }
  return items;
}

/**
 * The client `POST /admin/oauth/clients` asks for, checked with GoTrue's rules and messages (400
 * `validation_failed`): `redirect_uris` (1 to 10; https, or http on loopback; no fragment; no
 * `javascript:`/`data:`/… scheme) are required for the authorization code grant; `grant_types` among
 * `authorization_code`, `refresh_token`, `client_credentials` (default: the first two when redirect URIs
 * are given, else `client_credentials`); `client_type` and `token_endpoint_auth_method` consistent
 * (`none` ⇔ public); the client credentials grant needs a confidential client.
 */
export function newClientOf(body: Record<string, unknown>): NewClient {
  const uris = list(body, 'redirect_uris');
  const requestedGrants = list(body, 'grant_types');
  const grants = requestedGrants ? grantTypes(requestedGrants) : uris && uris.length > 0 ? (['authorization_code', 'refresh_token'] as ClientGrantType[]) : (['client_credentials'] as ClientGrantType[]);
  const redirect = redirectUris(uris ?? [], grants.includes('authorization_code'));
  const rawType = text(body, 'client_type');
  if (rawType !== undefined && rawType !== '' && rawType !== 'public' && rawType !== 'confidential') throw validationFailed("client_type must be 'public' or 'confidential'");
  const method = authMethod(text(body, 'token_endpoint_auth_method'), 'token_endpoint_auth_method');
  const clientType: ClientType = rawType === 'public' || rawType === 'confidential' ? rawType : method ? typeOfMethod(method) : 'confidential';
  if (method && typeOfMethod(method) !== clientType) {
    throw validationFailed(`client_type '${clientType}' is inconsistent with token_endpoint_auth_method '${method}' (expected client_type '${typeOfMethod(method)}')`);
  }
  if (clientType === 'public' && grants.includes('client_credentials')) throw validationFailed('the client_credentials grant needs a confidential client');
  const organizationId = text(body, 'organization_id') ?? null;
  if (organizationId !== null && !isUuid(organizationId)) throw validationFailed('organization_id must be an UUID');
  const clientUri = optionalUri(text(body, 'client_uri'), 'client_uri');
  const logoUri = optionalUri(text(body, 'logo_uri'), 'logo_uri');
  return {
    name: clientName(text(body, 'client_name') ?? text(body, 'name')) ?? '',
    scopes: scopesOf(body),
    organizationId: organizationId?.toLowerCase() ?? null,
    clientType,
    tokenEndpointAuthMethod: method ?? (clientType === 'public' ? 'none' : 'client_secret_basic'),
    grantTypes: grants,
    redirectUris: redirect,
    ...(clientUri ? { clientUri } : {}),
    ...(logoUri ? { logoUri } : {}),
  };
}

/**
 * The changes `PUT /admin/oauth/clients/{id}` asks for (GoTrue's fields; 400 "No fields provided for
 * update" without any), checked against the client as it would become.
 */
export function clientChangesOf(body: Record<string, unknown>, current: ClientRow): ClientChanges {
  const uris = list(body, 'redirect_uris');
  const requestedGrants = list(body, 'grant_types');
  const name = clientName(text(body, 'client_name'));
  const clientUri = optionalUri(text(body, 'client_uri'), 'client_uri');
  const logoUri = optionalUri(text(body, 'logo_uri'), 'logo_uri');
  const method = authMethod(text(body, 'token_endpoint_auth_method'), 'invalid token_endpoint_auth_method');
  if (uris === undefined && requestedGrants === undefined && name === undefined && clientUri === undefined && logoUri === undefined && method === undefined) {
    throw validationFailed('No fields provided for update');
  }
  if (uris !== undefined && uris.length === 0) throw validationFailed('redirect_uris cannot be empty');
  const grants = requestedGrants ? grantTypes(requestedGrants) : current.grant_types;
  const redirect = uris !== undefined ? redirectUris(uris, false) : current.redirect_uris;
  if (grants.includes('authorization_code') && redirect.length === 0) throw validationFailed('redirect_uris is required');
  if (method && typeOfMethod(method) !== current.client_type) {
    throw validationFailed(`client_type '${current.client_type}' is inconsistent with token_endpoint_auth_method '${method}' (expected client_type '${typeOfMethod(method)}')`);
  }
  if (current.client_type === 'public' && grants.includes('client_credentials')) throw validationFailed('the client_credentials grant needs a confidential client');
  return {
    ...(name !== undefined ? { name } : {}),
    ...(uris !== undefined ? { redirectUris: redirect } : {}),
    ...(requestedGrants !== undefined ? { grantTypes: grants } : {}),
    ...(clientUri !== undefined ? { clientUri } : {}),
    ...(logoUri !== undefined ? { logoUri } : {}),
    ...(method !== undefined ? { tokenEndpointAuthMethod: method } : {}),
  };
}
