import { createVerifier, isVerifyError, type Algorithm, type UncheckedClaims, type Verifier, type LenientVerifierOptions } from '@latchkey/verify';
import { ConfigError } from '../../config/index.js';
import type { TokenSettings } from '../settings.js';
import { TokenRejectedError } from './claims.js';

/** Verifies a JWT's signature and standard claims; the one thing the gateway needs from a JWT library. */
export interface TokenVerifier {
  /** Resolves with the payload, or rejects with {@link TokenRejectedError}. */
  verify(token: string): Promise<Record<string, unknown>>;
}

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

const RSA_FAMILY: readonly Algorithm[] = ['RS256', 'RS384', 'RS512'];
const EC_FAMILY: readonly Algorithm[] = ['ES256', 'ES384', 'ES512'];
const HMAC_FAMILY: readonly Algorithm[] = ['HS256', 'HS384', 'HS512'];
const KEY_SET_ALGORITHMS: readonly Algorithm[] = [...EC_FAMILY, ...RSA_FAMILY, 'PS256', 'PS384', 'PS512', 'EdDSA'];

/**
 * Builds the gateway's token verifier on `@latchkey/verify`. Tokens of the identity service (`jwksUrl:
 * 'identity'`), and any token source with both issuer and audience configured, must carry `exp`, `iss`
 * and `aud`. Otherwise Centrifugo's rules apply: `aud`/`iss` checked only when configured, `exp` and
 * `nbf` checked when present, any HMAC secret length the configuration allows. Bad key settings throw
 * `ConfigError` naming `variable`.
 */
export function createGatewayVerifier(settings: TokenSettings, context: VerifierContext, variable: string): TokenVerifier {
  const identity = settings.jwksUrl === 'identity';
  const build = (): Verifier<UncheckedClaims> => createVerifier(verifierOptions(settings, context));
  let verifier: Verifier<UncheckedClaims> | undefined;
  // The identity service's URL and issuer are known once the server listens: its verifier is made on first use.
  if (!identity) {
    try {
      verifier = build();
    } catch (error) {
      throw new ConfigError(variable, error instanceof Error ? error.message : 'bad token settings');
    }
    // Fetched at start, so a JWKS outage soon after is served from the cached keys (stale-if-error)
    // instead of refusing every token until the source is back; a failed start fetch (the source slow or
    // away) is tried again until it succeeds, not left until the first token arrives.
    if (verifier.jwks) void loadUntilFetched(verifier.jwks);
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

/** Milliseconds before the next start fetch of a JWKS after `attempt` failed ones: 0.5 s, doubling, at most 30 s. */
export function jwksRetryDelay(attempt: number): number {
  return Math.min(500 * 2 ** attempt, 30_000);
}

/** Reloads `jwks` until one fetch succeeds (timers unref'd: they never keep the process alive). */
async function loadUntilFetched(jwks: { reload(): Promise<void> }): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await jwks.reload();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, jwksRetryDelay(attempt)).unref());
    }
  }
}

/** `@latchkey/verify` options for one token source (connection or subscription tokens). */
function verifierOptions(settings: TokenSettings, context: VerifierContext): LenientVerifierOptions {
  const identity = settings.jwksUrl === 'identity';
  const strict = identity || (settings.issuer !== null && settings.audience !== null);
  const claimRules = strict
    ? { issuer: settings.issuer ?? context.identityIssuer(), audience: settings.audience ?? context.identityAudience }
    : { issuer: settings.issuer, audience: settings.audience, requireExpiry: false, checkIssuedAt: false };
  if (settings.jwksUrl !== null) {
    const secret = identity ? (context.identitySecret ?? null) : null;
    return {
      ...claimRules,
      jwksUrl: identity ? context.identityJwksUrl() : settings.jwksUrl,
      jwks: {
        timeout: 1000,
        cooldown: 5000,
        ...(strict ? {} : { maxAge: 3_600_000 }),
        ...(identity && context.identityFetch ? { fetch: context.identityFetch } : {}),
      },
      algorithms: [...KEY_SET_ALGORITHMS, ...(secret ? (['HS256'] as const) : [])],
      ...(secret ? { secret } : {}),
    };
  }
  const keys = [...(settings.rsaPublicKey ? [{ key: settings.rsaPublicKey }] : []), ...(settings.ecdsaPublicKey ? [{ key: settings.ecdsaPublicKey }] : [])];
  return {
    ...claimRules,
    ...(keys.length > 0 ? { keys } : {}),
    // Centrifugo accepts any `hmac_secret_key`; its length is the configuration's business.
    ...(settings.hmacSecret ? { secret: settings.hmacSecret, minSecretBytes: 1 } : {}),
    algorithms: [
      ...(settings.rsaPublicKey ? RSA_FAMILY : []),
      ...(settings.ecdsaPublicKey ? EC_FAMILY : []),
      ...(settings.hmacSecret ? HMAC_FAMILY : []),
    ],
  };
}
