import type { FastifyInstance } from 'fastify';
import { IdentityError } from '../errors.js';
import { bodyOf } from '../http/request.js';
import type { IdentityRuntime } from '../runtime.js';

/** Issuers GoTrue names for the id_token grant's built-in providers. */
const ID_TOKEN_ISSUERS: Record<string, string> = {
  google: 'https://accounts.google.com',
  apple: 'https://appleid.apple.com',
  azure: 'https://login.microsoftonline.com/common/v2.0',
  facebook: 'https://www.facebook.com',
  keycloak: 'keycloak',
  kakao: 'https://kauth.kakao.com',
};

/**
 * Features this service does not offer, answered as GoTrue answers when they are turned off: SSO
 * (`POST /sso`), Web3 and id_token grants, and manual identity linking.
 */
export function registerDisabledFeatures(app: FastifyInstance, runtime: IdentityRuntime): void {
  app.post('/sso', async () => {
    throw new IdentityError(404, 'saml_provider_disabled', 'SAML 2.0 is disabled');
  });
  app.get('/user/identities/authorize', async () => {
    throw new IdentityError(404, 'manual_linking_disabled', 'Manual linking is disabled');
  });
  app.delete('/user/identities/:id', async () => {
    throw new IdentityError(404, 'manual_linking_disabled', 'Manual linking is disabled');
  });
  runtime.extensions.grants.set('web3', async () => {
    throw new IdentityError(422, 'web3_provider_disabled', 'Web3 provider is disabled');
  });
  runtime.extensions.grants.set('id_token', async (request) => {
    const provider = bodyOf(request).provider;
    const name = typeof provider === 'string' ? provider : '';
    const issuer = ID_TOKEN_ISSUERS[name] ?? name;
    throw new IdentityError(400, 'provider_disabled', `Provider (issuer ${JSON.stringify(issuer)}) is not enabled`);
  });
}
