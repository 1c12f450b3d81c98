import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createVerifier, VerifyError, type Claims, type KeySet, type UncheckedClaims, type VerifyErrorCode } from '../src/index.js';
import { AUDIENCE, HMAC_SECRET, ISSUER, mint, nowSeconds, signingKey } from './support.js';

async function codeOf(promise: Promise<unknown>): Promise<{ code: VerifyErrorCode; claim?: string | undefined }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VerifyError);
    const failure = error as VerifyError & { claim?: string };
    return { code: failure.code, claim: failure.claim };
  }
  throw new Error('expected a VerifyError');
}

describe('issuer, audience and expiry rules', () => {
  it('accepts any iss and aud, and no exp, when told to (GoTrue verifying its own tokens)', async () => {
    const es = await signingKey('ES256', 'k');
    const verifier = createVerifier({ keys: [es.publicJwk], issuer: null, audience: null, requireExpiry: false, checkIssuedAt: false });
    expectTypeOf(verifier.verify).returns.resolves.toEqualTypeOf<UncheckedClaims>();
    expect((await verifier.verify(await mint(es, { iss: 'anyone', aud: 'anything' }))).sub).toBe('user-1');
    expect((await verifier.verify(await mint(es, { iss: undefined, aud: undefined, exp: undefined }))).exp).toBeUndefined();
    expect((await verifier.verify(await mint(es, { aud: ['a', 'b'] }))).aud).toEqual(['a', 'b']);
    // Registered claims keep their types and an expired token stays expired.
    expect((await codeOf(verifier.verify(await mint(es, { exp: nowSeconds() - 1 })))).code).toBe('ERR_TOKEN_EXPIRED');
    expect(await codeOf(verifier.verify(await mint(es, { iss: 7 as never })))).toMatchObject({ code: 'ERR_CLAIM_INVALID', claim: 'iss' });
    expect(await codeOf(verifier.verify(await mint(es, { aud: [1] as never })))).toMatchObject({ code: 'ERR_CLAIM_INVALID', claim: 'aud' });
    // An `iat` ahead of the clock is accepted as jose and GoTrue do.
    expect((await verifier.verify(await mint(es, { iat: nowSeconds() + 600 }))).sub).toBe('user-1');
  });

  it('relaxes each rule on its own', async () => {
    const es = await signingKey('ES256', 'k');
    const anyIssuer = createVerifier({ keys: [es.publicJwk], issuer: null, audience: AUDIENCE });
    expect((await anyIssuer.verify(await mint(es, { iss: 'elsewhere' }))).aud).toBe(AUDIENCE);
    expect(await codeOf(anyIssuer.verify(await mint(es, { aud: 'other' })))).toMatchObject({ code: 'ERR_CLAIM_INVALID', claim: 'aud' });
    expect(await codeOf(anyIssuer.verify(await mint(es, { exp: undefined })))).toMatchObject({ code: 'ERR_CLAIM_INVALID', claim: 'exp' });
    expect(await codeOf(anyIssuer.verify(await mint(es, { iat: nowSeconds() + 600 })))).toMatchObject({ code: 'ERR_CLAIM_INVALID', claim: 'iat' });

    const anyAudience = createVerifier({ keys: [es.publicJwk], issuer: ISSUER, audience: null, requireExpiry: false });
    expect((await anyAudience.verify(await mint(es, { aud: undefined, exp: undefined }))).iss).toBe(ISSUER);
    expect(await codeOf(anyAudience.verify(await mint(es, { iss: 'elsewhere' })))).toMatchObject({ code: 'ERR_CLAIM_INVALID', claim: 'iss' });
  });

  it('keeps the strict claims type when issuer, audience and expiry are required', () => {
    const strict = createVerifier({ secret: HMAC_SECRET, issuer: ISSUER, audience: AUDIENCE });
    expectTypeOf(strict.verifySync).returns.toEqualTypeOf<Claims>();
    expect(() => createVerifier({ secret: HMAC_SECRET, issuer: ISSUER, audience: AUDIENCE, requireExpiry: 'no' as never })).toThrow(/requireExpiry/);
    expect(() => createVerifier({ secret: HMAC_SECRET, issuer: '', audience: AUDIENCE })).toThrow(/issuer/);
  });
});

describe('HMAC secrets', () => {
  it('picks the secret by kid, falling back to the secrets without one', async () => {
    const legacy = 'legacy-secret-of-the-deployment-32+';
    const named = 'a-named-secret-that-signs-kid-hs-1';
    const verifier = createVerifier({ secret: [{ secret: legacy }, { secret: named, kid: 'hs-1' }], issuer: ISSUER, audience: AUDIENCE });
    expect((await verifier.verify(await mint({ alg: 'HS256', secret: legacy }))).sub).toBe('user-1');
    expect((await verifier.verify(await mint({ alg: 'HS256', secret: legacy, kid: 'legacy-kid' }))).sub).toBe('user-1');
    expect((await verifier.verify(await mint({ alg: 'HS256', secret: named, kid: 'hs-1' }))).sub).toBe('user-1');
    expect((await codeOf(verifier.verify(await mint({ alg: 'HS256', secret: legacy, kid: 'hs-1' })))).code).toBe('ERR_SIGNATURE_INVALID');
    expect((await codeOf(verifier.verify(await mint({ alg: 'HS256', secret: named })))).code).toBe('ERR_SIGNATURE_INVALID');
    expect(() => createVerifier({ secret: [], issuer: ISSUER, audience: AUDIENCE })).toThrow(/secret/);
  });

  it('holds every listed secret to 32 bytes unless minSecretBytes lowers the bar', async () => {
    expect(() => createVerifier({ secret: [{ secret: HMAC_SECRET }, { secret: 'sixteen-bytes-ok', kid: 'short' }], issuer: ISSUER, audience: AUDIENCE })).toThrow(/32 bytes/);
    // A Centrifugo configuration may carry `hmac_secret_key: "secret"`.
    const compatible = createVerifier({ secret: 'secret', minSecretBytes: 1, issuer: ISSUER, audience: AUDIENCE });
    expect((await compatible.verify(await mint({ alg: 'HS256', secret: 'secret' }))).sub).toBe('user-1');
    expect(() => createVerifier({ secret: 'secret', minSecretBytes: 8, issuer: ISSUER, audience: AUDIENCE })).toThrow(/8 bytes/);
    expect(() => createVerifier({ secret: HMAC_SECRET, minSecretBytes: 0, issuer: ISSUER, audience: AUDIENCE })).toThrow(/minSecretBytes/);
  });
});

describe('an in-process key set', () => {
  it('verifies with the set in force, imports a new set once, and refreshes for an unknown kid', async () => {
    const first = await signingKey('ES256', 'first');
    const second = await signingKey('ES256', 'second');
    let current: { keys: object[] } = { keys: [first.publicJwk] };
    let reads = 0;
    const refreshed: (string | undefined)[] = [];
    const keySet: KeySet = {
      keys: () => {
        reads += 1;
        return current as never;
      },
      refresh: async (kid) => {
        refreshed.push(kid);
        current = { keys: [second.publicJwk, first.publicJwk] };
      },
    };
    const verifier = createVerifier({ keySet, issuer: ISSUER, audience: AUDIENCE });
    expect(verifier.verifySync(await mint(first)).sub).toBe('user-1');
    expect(reads).toBe(1);
    // Unknown to the set in force: refreshed once, then verified; synchronous verification refuses instead.
    const rotated = await mint(second);
    current = { keys: [first.publicJwk] };
    expect(() => verifier.verifySync(rotated)).toThrow(expect.objectContaining({ code: 'ERR_KEY_NOT_FOUND' }));
    expect((await verifier.verify(rotated)).sub).toBe('user-1');
    expect(refreshed).toContain('second');
    expect(verifier.verifySync(rotated).sub).toBe('user-1');
    // A kid nobody has: refused after one refresh.
    const stranger = await signingKey('ES256', 'stranger');
    refreshed.length = 0;
    expect((await codeOf(verifier.verify(await mint(stranger)))).code).toBe('ERR_KEY_NOT_FOUND');
    expect(refreshed).toEqual(['stranger']);
  });

  it('takes KeyObjects (private halves reduced to public), skips unusable members, never an oct key', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'pk', alg: 'ES256' };
    const es = await signingKey('ES256', 'pk');
    const fromObject = createVerifier({ keySet: { keys: () => [{ key: privateKey, kid: 'pk', alg: 'ES256' }] }, issuer: ISSUER, audience: AUDIENCE });
    const { importJWK } = await import('jose');
    const token = await mint({ alg: 'ES256', kid: 'pk', privateKey: (await importJWK(jwk, 'ES256')) as never, publicJwk: {} });
    expect(fromObject.verifySync(token).sub).toBe('user-1');
    const octSecret = { kty: 'oct', k: Buffer.from(HMAC_SECRET).toString('base64url'), kid: 'hs', alg: 'HS256' };
    const mixed = createVerifier({ keySet: { keys: () => ({ keys: [octSecret, { kty: 'nope' }, es.publicJwk] as never }) }, issuer: ISSUER, audience: AUDIENCE });
    expect(mixed.verifySync(await mint(es)).sub).toBe('user-1');
    expect((await codeOf(mixed.verify(await mint({ alg: 'HS256', secret: HMAC_SECRET, kid: 'hs' })))).code).toBe('ERR_ALG_NOT_ALLOWED');
    expect(() => createVerifier({ keySet: {} as never, issuer: ISSUER, audience: AUDIENCE })).toThrow(/keySet/);
  });
});
