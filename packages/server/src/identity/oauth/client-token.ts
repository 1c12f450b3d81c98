import { randomUUID } from 'node:crypto';
import type { IdentityRuntime } from '../runtime.js';
import type { ClientRow } from './clients.js';

/** The token response of the client credentials grant (RFC 6749 §4.4.3): no refresh token. */
export interface ClientTokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
}

/**
 * The claims of a client credentials access token. Shaped like a user token so that the same verifier
 * (`@latchkey/verify`, same `iss`/`aud`) and the same row-level security helpers accept it:
 * - `sub` and `client_id`: the client id (never a UUID, so `auth.uid()` is null for a client);
 * - `role`: `authenticated` (the database role row-level security runs under);
 * - `scope`: the granted scopes, space-separated;
 * - `app_metadata`: `{provider: "client_credentials", client_name, organization_id?}`;
 * - `aal: "aal1"`, `amr: [{method: "client_credentials", timestamp}]`, `is_anonymous: false`,
 *   `email`/`phone` empty, `jti` unique; no `session_id` (there is no session to end).
 */
export function clientClaims(runtime: IdentityRuntime, client: ClientRow, scopes: readonly string[], now: number): Record<string, unknown> {
  const appMetadata: Record<string, unknown> = { provider: 'client_credentials', client_name: client.name };
  if (client.organization_id) appMetadata.organization_id = client.organization_id;
  const claims: Record<string, unknown> = {
    iss: runtime.jwtIssuer(),
    sub: client.id,
    aud: runtime.settings.audience,
    exp: now + runtime.settings.jwtExpiry,
    iat: now,
    jti: randomUUID(),
    client_id: client.id,
    scope: scopes.join(' '),
    email: '',
    phone: '',
    app_metadata: appMetadata,
    user_metadata: {},
    role: 'authenticated',
    aal: 'aal1',
    amr: [{ method: 'client_credentials', timestamp: now }],
    is_anonymous: false,
  };
  if (!claims.iss) delete claims.iss;
  return claims;
}

/** Signs a client credentials token. */
export async function issueClientToken(runtime: IdentityRuntime, client: ClientRow, scopes: readonly string[]): Promise<ClientTokenResponse> {
  const now = Math.floor(Date.now() / 1000);
  const claims = clientClaims(runtime, client, scopes, now);
  const token = await runtime.keys.sign(claims);
  return { access_token: token, token_type: 'bearer', expires_in: runtime.settings.jwtExpiry, scope: scopes.join(' ') };
}
