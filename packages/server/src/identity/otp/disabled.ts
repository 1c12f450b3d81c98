import type { FastifyInstance } from 'fastify';
import { IdentityError, OAuthError, validationFailed } from '../errors.js';
import { bodyOf } from '../http/request.js';
import type { IdentityRuntime } from '../runtime.js';

/** The id_token grant's built-in providers and the issuers GoTrue names for them. */
const ID_TOKEN_ISSUERS: Record<string, string> = {
  apple: 'https://appleid.apple.com',
  google: 'https://accounts.google.com',
  facebook: 'https://www.facebook.com',
  kakao: 'https://kauth.kakao.com',
  keycloak: '',
};

/** GoTrue's answer to `/token?grant_type=id_token` when no OIDC provider is enabled. */
function idTokenRefusal(body: Record<string, unknown>): Error {
  const text = (field: string) => (typeof body[field] === 'string' ? (body[field]) : '');
  const provider = text('provider');
  const issuer = text('issuer');
  if (text('id_token') === '') return new OAuthError('invalid request', 'id_token required');
  if (provider === '' && (text('client_id') === '' || issuer === '')) return new OAuthError('invalid request', 'provider or client_id and issuer required');
  const known = Object.entries(ID_TOKEN_ISSUERS).find(([name, value]) => provider === name || (value !== '' && issuer === value));
  if (known) return new IdentityError(400, 'provider_disabled', `Provider (issuer ${JSON.stringify(known[1])}) is not enabled`);
  if (provider === 'azure' || /^https:\/\/login\.microsoftonline\.com\//.test(issuer)) {
    if (issuer === '') return validationFailed('Unable to detect issuer in ID token for Azure provider');
    return new IdentityError(400, 'provider_disabled', `Provider (issuer ${JSON.stringify(issuer)}) is not enabled`);
  }
  return validationFailed(`Custom OIDC provider ${JSON.stringify(provider)} not allowed`);
}

/**
 * Features this service does not offer, answered as GoTrue answers when they are turned off: SSO
 * (`POST /sso`), Web3 and id_token grants.
 */
export function registerDisabledFeatures(app: FastifyInstance, runtime: IdentityRuntime): void {
  app.post('/sso', async () => {
    throw new IdentityError(404, 'saml_provider_disabled', 'SAML 2.0 is disabled');
  });
  runtime.extensions.grants.set('web3', async () => {
    throw new IdentityError(422, 'web3_provider_disabled', 'Web3 provider is disabled');
  });
  runtime.extensions.grants.set('id_token', async (request) => {
    throw idTokenRefusal(bodyOf(request));
  });
}
