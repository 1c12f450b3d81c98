import { OAuthError } from '../errors.js';
import { issueClientToken, type ClientTokenResponse } from '../oauth/client-token.js';
import { SCOPE_TOKEN, type ClientRow } from '../oauth/clients.js';
import { takeToken } from './limits.js';
import type { Grant } from './types.js';

/** The client_credentials grant's input: the authenticated client and the `scope` parameter, if sent. */
export interface ClientCredentialsInput {
  readonly client: ClientRow;
  readonly scope: string | undefined;
}

/** The granted scopes: the requested ones when all are allowed, every allowed one when none was asked for. */
function grantedScopes(client: ClientRow, requested: string | undefined): string[] {
  if (requested === undefined) return client.scopes;
  const asked = [...new Set(requested.split(' ').filter((part) => part !== ''))];
  for (const scope of asked) {
    if (!SCOPE_TOKEN.test(scope)) throw new OAuthError('invalid_scope', `Malformed scope ${JSON.stringify(scope)}`);
    if (!client.scopes.includes(scope)) throw new OAuthError('invalid_scope', `Scope "${scope}" is not allowed for this client`);
  }
  return asked;
}

/**
 * `grant_type=client_credentials` (RFC 6749 §4.4), for registered OAuth clients only: an access token
 * for the client itself, no refresh token. Only a client registered for this grant gets one (a client
 * for the authorization code flow does not): `unauthorized_client`; scopes beyond the client's are `invalid_scope`.
 */
export const clientCredentialsGrant: Grant<ClientCredentialsInput, ClientTokenResponse> = {
  admit: takeToken,
  async issue({ runtime }, { client, scope }) {
    if (!client.grant_types.includes('client_credentials')) throw new OAuthError('unauthorized_client', 'Client is not allowed to use grant type: client_credentials');
    return issueClientToken(runtime, client, grantedScopes(client, scope));
  },
};
