import { createHash, timingSafeEqual } from 'node:crypto';
import { createVerifier, type Claims, type RevocationCheck, type Verifier } from '@latchkey/verify';
import type { TokenSettings } from './host.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The notes API's verifier: access tokens through the identity service's JWKS (with the
 * verified-token cache on), plus the service_role API key, which carries no audience and stands for
 * the service role. `revocation` refuses the tokens of ended sessions (the revocation feed's `check`).
 */
export function createApiVerifier(settings: TokenSettings, revocation?: RevocationCheck): Verifier {
  let tokens: Verifier | undefined;
  // The issuer may be known only once the server listens, so the verifier is made on first use.
  const userTokens = (): Verifier => {
    tokens ??= createVerifier({
      jwksUrl: settings.jwksUrl(),
      issuer: settings.issuer(),
      audience: settings.audience,
      cache: true,
      ...(revocation ? { revocation } : {}),
      ...(settings.secret ? { secret: settings.secret } : {}),
    });
    return tokens;
  };
  const serviceKey = digest(settings.serviceRoleKey);
  const serviceKeyLength = settings.serviceRoleKey.length;
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
