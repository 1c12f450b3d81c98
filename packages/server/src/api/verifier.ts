import { createHash, timingSafeEqual } from 'node:crypto';
import { createVerifier, type Claims, type RevocationCheck, type Verifier } from '@latchkey/verify';
import type { IdentityExports } from '../identity/index.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The example API's verifier: access tokens through the identity service's JWKS (as a separate
 * resource server would, with the verified-token cache on), plus the service_role API key, which
 * carries no audience and stands for the service role. `revocation` refuses the tokens of ended
 * sessions (the revocation feed's `check`).
 */
export function createApiVerifier(identity: IdentityExports, revocation?: RevocationCheck): Verifier {
  let tokens: Verifier | undefined;
  // The issuer is known once the server listens, so the verifier is made on first use.
  const userTokens = (): Verifier => {
    tokens ??= createVerifier({
      jwksUrl: identity.jwksUrl(),
      issuer: identity.issuer(),
      audience: identity.settings.audience,
      cache: true,
      ...(revocation ? { revocation } : {}),
      ...(identity.settings.jwtSecret ? { secret: identity.settings.jwtSecret } : {}),
    });
    return tokens;
  };
  const serviceKey = digest(identity.apiKeys.serviceRoleKey);
  const serviceKeyLength = identity.apiKeys.serviceRoleKey.length;
  const serviceClaims: Claims = { role: 'service_role', iss: 'latchkey' } as Claims;
  // Only a token of the key's length can be the key: user tokens skip the hash on every request.
  const isServiceKey = (token: string) => token.length === serviceKeyLength && timingSafeEqual(digest(token), serviceKey);
  return {
    async verify(token) {
      return isServiceKey(token) ? serviceClaims : userTokens().verify(token);
    },
    verifySync(token) {
      return isServiceKey(token) ? serviceClaims : userTokens().verifySync(token);
    },
    get jwks() {
      return userTokens().jwks;
    },
    get algorithms() {
      return userTokens().algorithms;
    },
  };
}
