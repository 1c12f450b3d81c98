import { IdentityError, OAuthError, validationFailed } from '../errors.js';
import type { Grant } from './types.js';

/** The id_token grant's built-in providers and the issuers GoTrue names for them. */
const ID_TOKEN_ISSUERS: Record<string, string> = {
  apple: 'https://appleid.apple.com',
  google: 'https://accounts.google.com',
  facebook: 'https://www.facebook.com',
  kakao: 'https://kauth.kakao.com',
  keycloak: '',
};

/** The id_token grant's input: the request body's string fields (`provider`, `issuer`, `client_id`, `id_token`; empty when absent). */
export interface IdTokenInput {
  readonly provider: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly idToken: string;
}

/** GoTrue's answer to `grant_type=id_token` when no OIDC provider is enabled. */
function idTokenRefusal({ provider, issuer, clientId, idToken }: IdTokenInput): Error {
  if (idToken === '') return new OAuthError('invalid request', 'id_token required');
  if (provider === '' && (clientId === '' || issuer === '')) return new OAuthError('invalid request', 'provider or client_id and issuer required');
  const known = Object.entries(ID_TOKEN_ISSUERS).find(([name, value]) => provider === name || (value !== '' && issuer === value));
  if (known) return new IdentityError(400, 'provider_disabled', `Provider (issuer ${JSON.stringify(known[1])}) is not enabled`);
  if (provider === 'azure' || /^https:\/\/login\.microsoftonline\.com\//.test(issuer)) {
    if (issuer === '') return validationFailed('Unable to detect issuer in ID token for Azure provider');
    return new IdentityError(400, 'provider_disabled', `Provider (issuer ${JSON.stringify(issuer)}) is not enabled`);
  }
  return validationFailed(`Custom OIDC provider ${JSON.stringify(provider)} not allowed`);
}

/** `grant_type=id_token`: no OpenID Connect provider is offered, so every request is refused as GoTrue refuses it. */
export const idTokenGrant: Grant<IdTokenInput, never> = {
  async issue(_context, input) {
    throw idTokenRefusal(input);
  },
};

/** `grant_type=web3`: not offered; 422 `web3_provider_disabled`, as GoTrue with the provider off. */
export const web3Grant: Grant<Record<string, never>, never> = {
  async issue() {
    throw new IdentityError(422, 'web3_provider_disabled', 'Web3 provider is disabled');
  },
};
