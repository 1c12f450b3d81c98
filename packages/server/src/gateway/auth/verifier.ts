import { createVerifier, isVerifyError, type Algorithm, type Verifier } from '@latchkey/verify';
import { createRemoteJWKSet, decodeProtectedHeader, importSPKI, jwtVerify, type CryptoKey, type JWTHeaderParameters } from 'jose';
import { ConfigError } from '../../config/index.js';
import type { TokenSettings } from '../settings.js';
import { TokenRejectedError } from './claims.js';

/** Verifies a JWT's signature and standard claims; the one thing the gateway needs from a JWT library. */
export interface TokenVerifier {
  /** Resolves with the payload, or rejects with {@link TokenRejectedError}. */
  verify(token: string): Promise<Record<string, unknown>>;
}

const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];
const RSA_ALGS = ['RS256', 'RS384', 'RS512'];
const EC_ALGS = ['ES256', 'ES384', 'ES512'];
const JWKS_ALGS = [...RSA_ALGS, ...EC_ALGS, 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'];

/** jose error codes that mean the token itself is bad (as opposed to its key source being unreachable). */
const INVALID_CODES = new Set([
  'ERR_JWS_INVALID',
  'ERR_JWT_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JWK_INVALID',
]);

function codeOf(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : '';
}

/** Marks failures of the key source (network, timeout, bad JWKS response) as temporary. */
class KeySourceUnavailable extends Error {}

export interface VerifierContext {
  /** This process's identity service JWKS URL (known once the server listens). */
  identityJwksUrl(): string;
  /** `iss` of the identity service's tokens. */
  identityIssuer(): string;
  /** `aud` of the identity service's tokens. */
  readonly identityAudience: string;
  /** The identity service's legacy HS256 secret, when one is configured: its tokens are accepted too. */
  readonly identitySecret?: string | null;
  /**
   * Fetches the identity service's JWKS when it runs in the same process (no network round trip, and
   * no certificate to trust when the server speaks HTTPS). Default: the global `fetch`.
   */
  readonly identityFetch?: typeof fetch;
}

/**
 * Picks the engine: `@latchkey/verify` when issuer and audience are known (always for the identity
 * service's own JWKS), which requires `exp`, `iss` and `aud`; otherwise Centrifugo's rules (`aud`/`iss`
 * checked only when configured, `exp` optional) on `jose`. The variable named in errors is `variable`.
 */
export function createGatewayVerifier(settings: TokenSettings, context: VerifierContext, variable: string): TokenVerifier {
  if (settings.jwksUrl === 'identity' || (settings.issuer !== null && settings.audience !== null)) {
    return createStrictVerifier(settings, context, variable);
  }
  return createTokenVerifier(settings, context);
}

const RSA_FAMILY: Algorithm[] = ['RS256', 'RS384', 'RS512'];
const EC_FAMILY: Algorithm[] = ['ES256', 'ES384', 'ES512'];

function createStrictVerifier(settings: TokenSettings, context: VerifierContext, variable: string): TokenVerifier {
  const build = (): Verifier => {
    if (settings.jwksUrl !== null) {
      const identity = settings.jwksUrl === 'identity';
      // The verifier refuses HMAC secrets under 32 bytes; shorter legacy secrets stay unsupported here.
      const secret = identity && context.identitySecret && Buffer.byteLength(context.identitySecret) >= 32 ? context.identitySecret : null;
      return createVerifier({
        jwksUrl: identity ? context.identityJwksUrl() : settings.jwksUrl,
        jwks: { timeout: 1000, cooldown: 5000, ...(identity && context.identityFetch ? { fetch: context.identityFetch } : {}) },
        issuer: settings.issuer ?? context.identityIssuer(),
        audience: settings.audience ?? context.identityAudience,
        algorithms: ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', ...(secret ? (['HS256'] as Algorithm[]) : [])],
        ...(secret ? { secret } : {}),
      });
    }
    const keys = [...(settings.rsaPublicKey ? [{ key: settings.rsaPublicKey }] : []), ...(settings.ecdsaPublicKey ? [{ key: settings.ecdsaPublicKey }] : [])];
    const algorithms: Algorithm[] = [
      ...(settings.rsaPublicKey ? RSA_FAMILY : []),
      ...(settings.ecdsaPublicKey ? EC_FAMILY : []),
      ...(settings.hmacSecret ? (['HS256', 'HS384', 'HS512'] as Algorithm[]) : []),
    ];
    return createVerifier({
      ...(keys.length > 0 ? { keys } : {}),
      ...(settings.hmacSecret ? { secret: settings.hmacSecret } : {}),
      issuer: settings.issuer ?? '',
      audience: settings.audience ?? '',
      algorithms,
    });
  };
  let verifier: Verifier | undefined;
  if (settings.jwksUrl !== 'identity') {
    try {
      verifier = build();
    } catch (error) {
      throw new ConfigError(variable, error instanceof Error ? error.message : 'bad token settings');
    }
    // Fetched at start, so a JWKS outage soon after is served from the cached keys (stale-if-error)
    // instead of refusing every token until the source is back.
    void verifier.jwks?.reload().catch(() => undefined);
  }
  return {
    async verify(token) {
      verifier ??= build();
      try {
        return (await verifier.verify(token));
      } catch (error) {
        if (!isVerifyError(error)) throw new TokenRejectedError('unavailable', 'verification failed');
        if (error.code === 'ERR_TOKEN_EXPIRED') throw new TokenRejectedError('expired', error.code);
        if (error.temporary || error.code === 'ERR_JWKS_UNAVAILABLE') throw new TokenRejectedError('unavailable', error.code);
        throw new TokenRejectedError('invalid', error.code);
      }
    },
  };
}

/**
 * Builds a `jose` verifier from Centrifugo-style key settings: a JWKS URL (alone), or any of an HMAC secret,
 * RSA and ECDSA public keys chosen by the token's `alg`. `exp`/`nbf` are checked without leeway;
 * `aud`/`iss` only when configured.
 */
export function createTokenVerifier(settings: TokenSettings, context: VerifierContext): TokenVerifier {
  const options = {
    ...(settings.audience ? { audience: settings.audience } : {}),
    ...(settings.issuer ? { issuer: settings.issuer } : {}),
    clockTolerance: 0,
  };

  let getKey: (header: JWTHeaderParameters) => Promise<CryptoKey | Uint8Array>;
  let algorithms: string[];
  if (settings.jwksUrl !== null) {
    let remote: ReturnType<typeof createRemoteJWKSet> | undefined;
    const jwksUrl = settings.jwksUrl;
    algorithms = JWKS_ALGS;
    getKey = async (header) => {
      remote ??= createRemoteJWKSet(new URL(jwksUrl === 'identity' ? context.identityJwksUrl() : jwksUrl), {
        timeoutDuration: 1000,
        cooldownDuration: 5000,
        cacheMaxAge: 3_600_000,
      });
      try {
        return await remote(header, { payload: '', signature: '' });
      } catch (error) {
        if (INVALID_CODES.has(codeOf(error))) throw error;
        throw new KeySourceUnavailable(codeOf(error) || (error instanceof Error ? error.message : 'JWKS unavailable'));
      }
    };
  } else {
    const secret = settings.hmacSecret ? new TextEncoder().encode(settings.hmacSecret) : null;
    const imported = new Map<string, Promise<CryptoKey>>();
    algorithms = [...(secret ? HMAC_ALGS : []), ...(settings.rsaPublicKey ? RSA_ALGS : []), ...(settings.ecdsaPublicKey ? EC_ALGS : [])];
    getKey = async (header) => {
      const alg = header.alg;
      if (secret && HMAC_ALGS.includes(alg)) return secret;
      const pem = RSA_ALGS.includes(alg) ? settings.rsaPublicKey : EC_ALGS.includes(alg) ? settings.ecdsaPublicKey : null;
      if (!pem) throw new TokenRejectedError('invalid', `algorithm ${alg} not allowed`);
      let key = imported.get(alg);
      if (!key) {
        key = importSPKI(pem, alg);
        imported.set(alg, key);
      }
      return key;
    };
  }

  return {
    async verify(token) {
      try {
        decodeProtectedHeader(token);
      } catch {
        throw new TokenRejectedError('invalid', 'malformed token');
      }
      try {
        const { payload } = await jwtVerify(token, getKey as never, { ...options, algorithms });
        return payload;
      } catch (error) {
        if (error instanceof TokenRejectedError) throw error;
        if (error instanceof KeySourceUnavailable) throw new TokenRejectedError('unavailable', error.message);
        const code = codeOf(error);
        if (code === 'ERR_JWT_EXPIRED') throw new TokenRejectedError('expired', 'token expired');
        throw new TokenRejectedError('invalid', code || 'verification failed');
      }
    },
  };
}
