import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/index.js';
import { TokenRejectedError, type TokenFailure } from '../../src/gateway/auth/claims.js';
import { createGatewayVerifier, type VerifierContext } from '../../src/gateway/auth/verifier.js';
import type { TokenSettings } from '../../src/gateway/settings.js';
import { startKeyServer, type KeyServer } from './support.js';

const NONE: TokenSettings = { jwksUrl: null, hmacSecret: null, rsaPublicKey: null, ecdsaPublicKey: null, audience: null, issuer: null };
const CONTEXT: VerifierContext = {
  identityJwksUrl: () => 'http://127.0.0.1:9/auth/v1/.well-known/jwks.json',
  identityIssuer: () => 'http://127.0.0.1:9/auth/v1',
  identityAudience: 'authenticated',
};
const VARIABLE = 'LATCHKEY_GATEWAY_TOKEN_*';

async function failure(promise: Promise<unknown>): Promise<TokenFailure> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TokenRejectedError);
    return (error as TokenRejectedError).failure;
  }
  throw new Error('expected the token to be refused');
}

function hs(claims: JWTPayload, secret: string, alg = 'HS256'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg }).sign(new TextEncoder().encode(secret));
}

const now = () => Math.floor(Date.now() / 1000);

describe('gateway token verification with Centrifugo key settings', () => {
  it('takes any hmac_secret_key, accepts tokens without exp, checks exp and nbf when present', async () => {
    const verifier = createGatewayVerifier({ ...NONE, hmacSecret: 'secret' }, CONTEXT, VARIABLE);
    expect(await verifier.verify(await hs({ sub: '42' }, 'secret'))).toEqual({ sub: '42' });
    expect((await verifier.verify(await hs({ sub: '42', iat: now() + 60 }, 'secret', 'HS512'))).sub).toBe('42');
    expect(await failure(verifier.verify(await hs({ sub: '42', exp: now() - 1 }, 'secret')))).toBe('expired');
    expect(await failure(verifier.verify(await hs({ sub: '42', nbf: now() + 600 }, 'secret')))).toBe('invalid');
    expect(await failure(verifier.verify(await hs({ sub: '42' }, 'other')))).toBe('invalid');
    expect(await failure(verifier.verify('not.a.token'))).toBe('invalid');
  });

  it('checks aud and iss only when configured; with both, exp is required', async () => {
    const secret = 'centrifugo-hmac-secret-for-tests-0123456789';
    const audienceOnly = createGatewayVerifier({ ...NONE, hmacSecret: secret, audience: 'chat' }, CONTEXT, VARIABLE);
    expect((await audienceOnly.verify(await hs({ sub: '1', aud: 'chat', iss: 'anyone' }, secret))).sub).toBe('1');
    expect(await failure(audienceOnly.verify(await hs({ sub: '1', aud: 'mail' }, secret)))).toBe('invalid');
    expect(await failure(audienceOnly.verify(await hs({ sub: '1' }, secret)))).toBe('invalid');
    const both = createGatewayVerifier({ ...NONE, hmacSecret: secret, audience: 'chat', issuer: 'me' }, CONTEXT, VARIABLE);
    expect((await both.verify(await hs({ sub: '1', aud: 'chat', iss: 'me', exp: now() + 60 }, secret))).sub).toBe('1');
    expect(await failure(both.verify(await hs({ sub: '1', aud: 'chat', iss: 'me' }, secret)))).toBe('invalid');
  });

  it('verifies RS256 and ES256 with PEM public keys and refuses other algorithms', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = (key: typeof rsa.publicKey) => key.export({ type: 'spki', format: 'pem' }) as string;
    const verifier = createGatewayVerifier({ ...NONE, rsaPublicKey: pem(rsa.publicKey), ecdsaPublicKey: pem(ec.publicKey) }, CONTEXT, VARIABLE);
    const rs = await new SignJWT({ sub: 'r' }).setProtectedHeader({ alg: 'RS256' }).sign(rsa.privateKey);
    const es = await new SignJWT({ sub: 'e' }).setProtectedHeader({ alg: 'ES256' }).sign(ec.privateKey);
    expect((await verifier.verify(rs)).sub).toBe('r');
    expect((await verifier.verify(es)).sub).toBe('e');
    expect(await failure(verifier.verify(await hs({ sub: 'h' }, 'x'.repeat(40))))).toBe('invalid');
    const ps = await new SignJWT({ sub: 'p' }).setProtectedHeader({ alg: 'PS256' }).sign(rsa.privateKey);
    expect(await failure(verifier.verify(ps))).toBe('invalid');
  });

  it('refuses unusable key settings at start with a ConfigError naming the variable', () => {
    expect(() => createGatewayVerifier({ ...NONE, rsaPublicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }, CONTEXT, VARIABLE)).toThrow(ConfigError);
    expect(() => createGatewayVerifier({ ...NONE, rsaPublicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----' }, CONTEXT, VARIABLE)).toThrow(/^LATCHKEY_GATEWAY_TOKEN_\*: /);
  });
});

describe('gateway token verification with a JWKS', () => {
  let keys: KeyServer;
  beforeAll(async () => {
    keys = await startKeyServer();
  });
  afterAll(async () => {
    await keys?.close();
  });

  it('verifies by kid, tells an unknown key from an unreachable key set', async () => {
    const verifier = createGatewayVerifier({ ...NONE, jwksUrl: keys.url }, CONTEXT, VARIABLE);
    expect((await verifier.verify(await keys.mint({ sub: 'u' }, { expiresIn: null }))).sub).toBe('u');
    expect(await failure(verifier.verify(await keys.mint({ sub: 'u' }, { expiresIn: -5 })))).toBe('expired');
    expect(await failure(verifier.verify(await keys.mint({ sub: 'u' }, { key: 'foreign' })))).toBe('invalid');

    keys.up = false;
    try {
      const cold = createGatewayVerifier({ ...NONE, jwksUrl: keys.url.replace('jwks.json', 'other.json') }, CONTEXT, VARIABLE);
      expect(await failure(cold.verify(await keys.mint({ sub: 'u' })))).toBe('unavailable');
    } finally {
      keys.up = true;
    }
  });

  it('fetches the key set again after a failed start fetch, so an outage later is served from the cache', async () => {
    keys.up = false;
    const verifier = createGatewayVerifier({ ...NONE, jwksUrl: keys.url }, CONTEXT, VARIABLE);
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The source comes back briefly, with no token verified meanwhile: the retry alone fetches the set.
      keys.up = true;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      keys.up = false;
      expect((await verifier.verify(await keys.mint({ sub: 'u' }))).sub).toBe('u');
    } finally {
      keys.up = true;
    }
  });
});
