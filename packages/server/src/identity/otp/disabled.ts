import type { FastifyInstance } from 'fastify';
import { IdentityError } from '../errors.js';

/**
 * Features this service does not offer, answered as GoTrue answers when they are turned off: SSO
 * (`POST /sso`). The Web3 and id_token grants are refused by the grant service.
 */
export function registerDisabledFeatures(app: FastifyInstance): void {
  app.post('/sso', async () => {
    throw new IdentityError(404, 'saml_provider_disabled', 'SAML 2.0 is disabled');
  });
}
