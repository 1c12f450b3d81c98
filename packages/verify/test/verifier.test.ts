import { createHmac, createPrivateKey, createPublicKey, sign as cryptoSign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDenyList,
  createVerifier,
  VerifyError,
  VERIFY_ERROR_CODES,
  type Verifier,
  type VerifyErrorCode,
} from '../src/index.js';
import {
  AUDIENCE,
  HMAC_SECRET,
  ISSUER,
  manualClock,
  mint,
  nowSeconds,
  segment,
  signingKey,
  startJwksServer,
  type JwksServer,
  type SigningKey,
} from './support.js';

async function codeOf(promise: Promise<unknown>): Promise<{ code: VerifyErrorCode; claim?: string | undefined; temporary: boolean }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VerifyError);
    const failure = error as VerifyError & { claim?: string };
    return { code: failure.code, claim: failure.claim, temporary: failure.temporary };
  }
  throw new Error('expected a VerifyError');
}

describe('createVerifier with a JWKS over HTTP', () => {
  let es256: SigningKey;
  let rs256: SigningKey;
  let eddsa: SigningKey;
  let server: JwksServer;
  let verifier: Verifier;

  beforeAll(async () => {
    es256 = await signingKey('ES256', 'es-1');
    rs256 = await signingKey('RS256', 'rs-1');
    eddsa = await signingKey('EdDSA', 'ed-1');
    server = await startJwksServer([es256.publicJwk, rs256.publicJwk, eddsa.publicJwk]);
    verifier = createVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256', 'RS256', 'EdDSA'] });
  });
  afterAll(async () => {
    await server.close();
  });

  it.each(['ES256', 'RS256', 'EdDSA'] as const)('verifies %s tokens minted by jose', async (alg) => {
    const key = { ES256: es256, RS256: rs256, EdDSA: eddsa }[alg];
    const token = await mint(key, { role: 'authenticated', email: 'a@example.test' });
    const claims = await verifier.verify(token);
    expect(claims).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: 'user-1', role: 'authenticated', email: 'a@example.test' });
    expect(verifier.verifySync(token).sub).toBe('user-1');
    expect(verifier.jwks?.fresh).toBe(true);
  });

  it('maps every kind of bad token to its code', async () => {
    const now = nowSeconds();
    const rsaPem = createPublicKey({ key: rs256.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const good = await mint(es256);
    const [goodHeader, goodPayload, goodSignature] = good.split('.') as [string, string, string];
    const otherKey = await signingKey('ES256', 'es-1');
    const signRaw = (header: string, payload: string): string => {
      const key = createPrivateKey({ key: publishedPrivateJwk, format: 'jwk' });
      const signature = cryptoSign('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' });
      return `${header}.${payload}.${signature.toString('base64url')}`;
    };
    // Non-JSON payload, correctly signed with the published key.
    const { exportJWK } = await import('jose');
    const publishedPrivateJwk = (await exportJWK(es256.privateKey)) as import('node:crypto').JsonWebKey;
    const nonJsonPayload = signRaw(segment({ alg: 'ES256', kid: 'es-1' }), segment('not json{'));

    const cases: Array<[string, string, VerifyErrorCode, string?]> = [
      ['alg none', `${segment({ alg: 'none' })}.${goodPayload}.`, 'ERR_ALG_NOT_ALLOWED'],
      ['alg NoNe with a signature', `${segment({ alg: 'NoNe' })}.${goodPayload}.${goodSignature}`, 'ERR_ALG_NOT_ALLOWED'],
      ['HS256 signed with the RSA public key PEM', await mint({ alg: 'HS256', secret: Buffer.from(rsaPem as string), kid: 'rs-1' }), 'ERR_ALG_NOT_ALLOWED'],
      ['alg not matching the key of its kid', `${segment({ alg: 'RS256', kid: 'es-1' })}.${goodPayload}.${goodSignature}`, 'ERR_ALG_NOT_ALLOWED'],
      ['unknown kid', await mint({ ...es256, kid: 'nobody' }), 'ERR_KEY_NOT_FOUND'],
      ['signature by another key under a known kid', await mint(otherKey), 'ERR_SIGNATURE_INVALID'],
      ['signature of another token', `${goodHeader}.${segment({ iss: ISSUER, aud: AUDIENCE, exp: now + 60, sub: 'admin' })}.${goodSignature}`, 'ERR_SIGNATURE_INVALID'],
      ['empty signature', `${goodHeader}.${goodPayload}.`, 'ERR_SIGNATURE_INVALID'],
      ['truncated token', good.slice(0, Math.floor(good.length / 2)), 'ERR_TOKEN_MALFORMED'],
      ['truncated signature', good.slice(0, -10), 'ERR_SIGNATURE_INVALID'],
      ['16 KB header', `${segment({ alg: 'ES256', kid: 'es-1', pad: 'x'.repeat(16_384) })}.${goodPayload}.${goodSignature}`, 'ERR_TOKEN_MALFORMED'],
      ['9 KB header in a small enough token', `${segment({ alg: 'ES256', pad: 'x'.repeat(6_900) })}.${goodPayload}.${goodSignature}`, 'ERR_TOKEN_MALFORMED'],
      ['20 KB payload', `${goodHeader}.${segment({ pad: 'x'.repeat(20_000) })}.${goodSignature}`, 'ERR_TOKEN_MALFORMED'],
      ['non-JSON header', `${segment('{"alg":')}.${goodPayload}.${goodSignature}`, 'ERR_TOKEN_MALFORMED'],
      ['header is a JSON array', `${segment(['ES256'])}.${goodPayload}.${goodSignature}`, 'ERR_TOKEN_MALFORMED'],
      ['non-JSON payload (validly signed)', nonJsonPayload, 'ERR_TOKEN_MALFORMED'],
      ['critical header extension', `${segment({ alg: 'ES256', kid: 'es-1', crit: ['exp'], exp: 1 })}.${goodPayload}.${goodSignature}`, 'ERR_TOKEN_MALFORMED'],
      ['not base64url in the header', `${goodHeader}+/.${goodPayload}.${goodSignature}`, 'ERR_TOKEN_MALFORMED'],
      ['not base64url in the signature', `${goodHeader}.${goodPayload}.${goodSignature}$`, 'ERR_TOKEN_MALFORMED'],
      ['not base64url in a validly signed payload', signRaw(segment({ alg: 'ES256', kid: 'es-1' }), `${goodPayload}$`), 'ERR_TOKEN_MALFORMED'],
      ['foreign characters in the payload of a signed token', `${goodHeader}.${goodPayload}+/.${goodSignature}`, 'ERR_SIGNATURE_INVALID'],
      ['JWE-shaped (five parts)', `${goodHeader}.a.b.c.${goodSignature}`, 'ERR_TOKEN_MALFORMED'],
      ['empty string', '', 'ERR_TOKEN_MALFORMED'],
      ['expired by 1 s', await mint(es256, { iat: now - 61, exp: now - 1 }), 'ERR_TOKEN_EXPIRED'],
      ['nbf in the future', await mint(es256, { nbf: now + 60 }), 'ERR_TOKEN_NOT_YET_VALID'],
      ['wrong iss', await mint(es256, { iss: 'https://evil.example/auth/v1' }), 'ERR_CLAIM_INVALID', 'iss'],
      ['wrong aud', await mint(es256, { aud: 'someone-else' }), 'ERR_CLAIM_INVALID', 'aud'],
      ['aud list without ours', await mint(es256, { aud: ['a', 'b'] }), 'ERR_CLAIM_INVALID', 'aud'],
      ['missing exp', await mint(es256, { exp: undefined }), 'ERR_CLAIM_INVALID', 'exp'],
      ['missing iss', await mint(es256, { iss: undefined }), 'ERR_CLAIM_INVALID', 'iss'],
      ['missing aud', await mint(es256, { aud: undefined }), 'ERR_CLAIM_INVALID', 'aud'],
      ['exp is a string', await mint(es256, { exp: String(now + 60) as unknown as number }), 'ERR_CLAIM_INVALID', 'exp'],
      ['iat in the future', await mint(es256, { iat: now + 600 }), 'ERR_CLAIM_INVALID', 'iat'],
    ];
    for (const [name, token, code, claim] of cases) {
      const result = await codeOf(verifier.verify(token));
      expect({ name, code: result.code, temporary: result.temporary }).toEqual({ name, code, temporary: false });
      if (claim) expect({ name, claim: result.claim }).toEqual({ name, claim });
    }
    const nonString = await codeOf(verifier.verify(undefined as unknown as string));
    expect(nonString.code).toBe('ERR_TOKEN_MALFORMED');
  });

  it('errors carry a short description that never contains the token', async () => {
    const token = await mint(es256, { aud: 'other' });
    const error = await verifier.verify(token).catch((failure: unknown) => failure as VerifyError);
    expect(error.description).toBe('unexpected "aud" claim');
    expect(error.message).not.toContain(token);
    expect(JSON.stringify(error)).not.toContain(token.split('.')[1]);
  });
});

describe('verifyFast', () => {
  it('answers synchronously when no I/O is needed and with a promise when the key set must load', async () => {
    const key = await signingKey('ES256', 'k1');
    const server = await startJwksServer([key.publicJwk]);
    try {
      const verifier = createVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] });
      const token = await mint(key);
      const cold = verifier.verifyFast?.(token);
      expect(cold).toBeInstanceOf(Promise);
      expect((await cold)?.sub).toBe('user-1');
      const warm = verifier.verifyFast?.(token);
      expect(warm).not.toBeInstanceOf(Promise);
      expect((warm as { sub: string }).sub).toBe('user-1');
      expect(() => verifier.verifyFast?.(`${token.slice(0, -4)}AAAA`)).toThrow(expect.objectContaining({ code: 'ERR_SIGNATURE_INVALID' }));
      expect(() => verifier.verifyFast?.(`${token}x`)).toThrow(expect.objectContaining({ code: 'ERR_TOKEN_MALFORMED' }));
      // verify() never throws synchronously.
      const rejected = verifier.verify('not a token');
      expect(rejected).toBeInstanceOf(Promise);
      await expect(rejected).rejects.toMatchObject({ code: 'ERR_TOKEN_MALFORMED' });
    } finally {
      await server.close();
    }
  });
});

describe('JWKS refetch policy', () => {
  it('fetches at most once per cooldown for a burst of 100 distinct unknown kids', async () => {
    const key = await signingKey('ES256', 'k1');
    const server = await startJwksServer([key.publicJwk]);
    const clock = manualClock();
    try {
      const verifier = createVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], now: clock.now, jwks: { cooldown: 30_000 } });
      const forged = await Promise.all(Array.from({ length: 100 }, (_, index) => mint({ ...key, kid: `unknown-${index}` })));

      // Cold start: the burst shares the first fetch.
      let results = await Promise.all(forged.map((token) => codeOf(verifier.verify(token))));
      expect(results.every((result) => result.code === 'ERR_KEY_NOT_FOUND')).toBe(true);
      expect(server.fetches).toBe(1);
      expect(verifier.jwks?.coolingDown).toBe(true);

      // Inside the cooldown: no fetch at all.
      clock.advance(10_000);
      results = await Promise.all(forged.map((token) => codeOf(verifier.verify(token))));
      expect(results.every((result) => result.code === 'ERR_KEY_NOT_FOUND')).toBe(true);
      expect(server.fetches).toBe(1);

      // After the cooldown: exactly one more fetch for the whole burst.
      clock.advance(21_000);
      expect(verifier.jwks?.coolingDown).toBe(false);
      results = await Promise.all(forged.map((token) => codeOf(verifier.verify(token))));
      expect(results.every((result) => result.code === 'ERR_KEY_NOT_FOUND')).toBe(true);
      expect(server.fetches).toBe(2);

      // A legitimately rotated key is picked up by the refetch once the cooldown allows.
      const rotated = await signingKey('ES256', 'k2');
      server.keys = [key.publicJwk, rotated.publicJwk];
      clock.advance(31_000);
      const claims = await verifier.verify(await mint(rotated));
      expect(claims.sub).toBe('user-1');
      expect(server.fetches).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('keeps serving the stale set while the endpoint fails, then fails closed', async () => {
    const key = await signingKey('ES256', 'k1');
    const server = await startJwksServer([key.publicJwk]);
    const clock = manualClock();
    try {
      const verifier = createVerifier({
        jwksUrl: server.url,
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['ES256'],
        now: clock.now,
        jwks: { maxAge: 60_000, staleIfError: 120_000, cooldown: 1_000 },
      });
      const token = await mint(key);
      await verifier.verify(token);
      expect(verifier.jwks).toMatchObject({ fresh: true, stale: false, fetches: 1 });

      server.mode = 500;
      clock.advance(61_000);
      expect(verifier.jwks?.stale).toBe(true);
      expect((await verifier.verify(token)).sub).toBe('user-1');
      expect(verifier.jwks?.lastError?.message).toContain('500');
      expect(server.fetches).toBe(2);
      // A failed fetch is not repeated on every request.
      await verifier.verify(token);
      expect(server.fetches).toBe(2);

      clock.advance(100_000); // 161 s after the fetch: still inside maxAge + staleIfError
      expect((await verifier.verify(token)).sub).toBe('user-1');

      clock.advance(20_000); // 181 s: past the bound
      const failure = await codeOf(verifier.verify(token));
      expect(failure).toEqual({ code: 'ERR_JWKS_UNAVAILABLE', claim: undefined, temporary: true });

      server.mode = 200;
      clock.advance(1_000);
      expect((await verifier.verify(token)).sub).toBe('user-1');
      expect(verifier.jwks).toMatchObject({ fresh: true, lastError: undefined });
    } finally {
      await server.close();
    }
  });

  it('fails closed with a temporary error when the first fetch times out', async () => {
    const key = await signingKey('ES256', 'k1');
    const server = await startJwksServer([key.publicJwk]);
    server.mode = 'hang';
    try {
      const verifier = createVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], jwks: { timeout: 200 } });
      const started = Date.now();
      const failure = await verifier.verify(await mint(key)).catch((error: unknown) => error as VerifyError & { retryAfter: number });
      expect(failure.code).toBe('ERR_JWKS_UNAVAILABLE');
      expect(failure.temporary).toBe(true);
      expect(failure.retryAfter).toBeGreaterThanOrEqual(1);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await server.close();
    }
  });

  it('ignores HMAC, private and non-signing members of a JWKS', async () => {
    const key = await signingKey('ES256', 'k1');
    const secretJwk = { kty: 'oct', k: Buffer.from(HMAC_SECRET).toString('base64url'), kid: 'hs', alg: 'HS256' };
    const encryption = { ...(await signingKey('ES256', 'enc')).publicJwk, use: 'enc' };
    const server = await startJwksServer([secretJwk, encryption, key.publicJwk]);
    try {
      const verifier = createVerifier({ jwksUrl: server.url, issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] });
      expect((await verifier.verify(await mint(key))).sub).toBe('user-1');
      expect((await codeOf(verifier.verify(await mint({ alg: 'HS256', secret: HMAC_SECRET, kid: 'hs' })))).code).toBe('ERR_ALG_NOT_ALLOWED');
      expect((await codeOf(verifier.verify(await mint({ ...key, kid: 'enc' })))).code).toBe('ERR_KEY_NOT_FOUND');
    } finally {
      await server.close();
    }
  });
});

describe('static keys and secrets', () => {
  it('verifies HS256 with an explicitly configured secret only', async () => {
    const verifier = createVerifier({ secret: HMAC_SECRET, issuer: ISSUER, audience: AUDIENCE });
    expect(verifier.algorithms).toEqual(['HS256']);
    const token = await mint({ alg: 'HS256', secret: HMAC_SECRET });
    expect((await verifier.verify(token)).sub).toBe('user-1');
    const forged = await mint({ alg: 'HS256', secret: `${HMAC_SECRET}?` });
    expect((await codeOf(verifier.verify(forged))).code).toBe('ERR_SIGNATURE_INVALID');
    const es = await signingKey('ES256', 'k');
    expect((await codeOf(verifier.verify(await mint(es)))).code).toBe('ERR_ALG_NOT_ALLOWED');
  });

  it('verifies PS256 and ES384 from configured JWKs, and keys without kid', async () => {
    const ps = await signingKey('PS256', 'ps');
    const es = await signingKey('ES384', 'es');
    const { kid: _kid, ...anonymous } = es.publicJwk;
    const verifier = createVerifier({ keys: [ps.publicJwk, anonymous], issuer: ISSUER, audience: AUDIENCE, algorithms: ['PS256', 'ES384'] });
    expect((await verifier.verify(await mint(ps))).sub).toBe('user-1');
    expect((await verifier.verify(await mint({ ...es, kid: '' }, {}, {}))).sub).toBe('user-1');
  });

  it('accepts PEM keys and a JWK Set', async () => {
    const ed = await signingKey('EdDSA', 'ed');
    const pem = createPublicKey({ key: ed.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    const fromPem = createVerifier({ keys: [{ key: pem, kid: 'ed' }], issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'] });
    expect((await fromPem.verify(await mint(ed))).sub).toBe('user-1');
    const fromSet = createVerifier({ keys: { keys: [ed.publicJwk] }, issuer: [ISSUER, 'other'], audience: ['x', AUDIENCE], algorithms: ['EdDSA'] });
    expect((await fromSet.verify(await mint(ed))).sub).toBe('user-1');
  });

  it('rejects unsafe configurations eagerly', async () => {
    const es = await signingKey('ES256', 'k');
    const base = { issuer: ISSUER, audience: AUDIENCE };
    expect(() => createVerifier({ ...base, keys: [es.publicJwk], algorithms: ['none' as 'ES256'] })).toThrow(TypeError);
    expect(() => createVerifier({ ...base, jwksUrl: 'https://id.example.test/jwks', algorithms: ['HS256'] })).toThrow(/secret/);
    expect(() => createVerifier({ ...base, secret: 'short' })).toThrow(/32 bytes/);
    expect(() => createVerifier({ ...base, secret: HMAC_SECRET, algorithms: ['ES256'] })).toThrow(TypeError);
    expect(() => createVerifier({ ...base, keys: [es.publicJwk], algorithms: [] })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: ISSUER, audience: [], keys: [es.publicJwk] })).toThrow(/audience/);
    expect(() => createVerifier({ ...base, keys: [es.publicJwk], clockTolerance: -1 })).toThrow(/clockTolerance/);
    expect(() => createVerifier({ ...base, jwksUrl: 'https://id.example.test/jwks', jwks: { cooldown: Number.NaN } })).toThrow(/cooldown/);
    expect(() => createVerifier({ ...base, jwksUrl: 'file:///etc/passwd' })).toThrow(/http/);
    expect(() => createVerifier({ ...base, keys: [{ kty: 'oct', k: 'abc' }] })).toThrow(/secret/);
    expect(() => createVerifier({ ...base } as never)).toThrow(/jwksUrl/);
  });

  it('honours clockTolerance, maxTokenAge, requiredClaims and typ', async () => {
    const es = await signingKey('ES256', 'k');
    const now = nowSeconds();
    const lenient = createVerifier({ keys: [es.publicJwk], issuer: ISSUER, audience: AUDIENCE, clockTolerance: 5 });
    expect((await lenient.verify(await mint(es, { exp: now - 1 }))).sub).toBe('user-1');
    const strict = createVerifier({ keys: [es.publicJwk], issuer: ISSUER, audience: AUDIENCE, maxTokenAge: 60, requiredClaims: ['sub', 'session_id'], typ: 'at+jwt' });
    const fresh = await mint(es, { session_id: 's' }, { typ: 'at+jwt' });
    expect((await strict.verify(fresh)).session_id).toBe('s');
    expect((await codeOf(strict.verify(await mint(es, { session_id: 's', iat: now - 120 }, { typ: 'at+jwt' })))).code).toBe('ERR_TOKEN_EXPIRED');
    expect(await codeOf(strict.verify(await mint(es, {}, { typ: 'at+jwt' })))).toMatchObject({ code: 'ERR_CLAIM_INVALID', claim: 'session_id' });
    expect(await codeOf(strict.verify(await mint(es, { session_id: 's' })))).toMatchObject({ code: 'ERR_CLAIM_INVALID', claim: 'typ' });
  });
});

describe('verified-token cache and revocation', () => {
  it('serves repeats from the cache until exp, never past it', async () => {
    const es = await signingKey('ES256', 'k');
    const clock = manualClock();
    const verifier = createVerifier({ keys: [es.publicJwk], issuer: ISSUER, audience: AUDIENCE, cache: { max: 2 }, now: clock.now });
    const token = await mint(es, { exp: Math.floor(clock.now() / 1000) + 10 });
    const first = await verifier.verify(token);
    const second = await verifier.verify(token);
    expect(second).toBe(first);
    expect(Object.isFrozen(second)).toBe(true);
    expect(verifier.verifySync(token)).toBe(first);
    clock.advance(11_000);
    expect((await codeOf(verifier.verify(token))).code).toBe('ERR_TOKEN_EXPIRED');
    // A tampered token never hits the cache entry of the original.
    const tampered = `${token.slice(0, -2)}AA`;
    expect((await codeOf(verifier.verify(tampered))).code).toBe('ERR_SIGNATURE_INVALID');
  });

  it('serves a cached entry only to the exact token, whatever shares its signature', async () => {
    const es = await signingKey('ES256', 'k');
    const verifier = createVerifier({ keys: [es.publicJwk], issuer: ISSUER, audience: AUDIENCE, cache: true });
    const token = await mint(es, { role: 'authenticated' });
    expect((await verifier.verify(token)).role).toBe('authenticated');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, role: 'service_role' })).toString('base64url');
    // The cached token's signature under another payload, or with extra segments, is verified afresh and refused.
    expect((await codeOf(verifier.verify(`${header}.${forgedPayload}.${signature}`))).code).toBe('ERR_SIGNATURE_INVALID');
    expect((await codeOf(verifier.verify(`${header}.${payload}.x.${signature}`))).code).toBe('ERR_TOKEN_MALFORMED');
    expect((await codeOf(verifier.verify(`x${header}.${payload}.${signature}`))).code).toBe('ERR_TOKEN_MALFORMED');
    expect(() => verifier.verifySync(`${header}.${forgedPayload}.${signature}`)).toThrow(expect.objectContaining({ code: 'ERR_SIGNATURE_INVALID' }));
    expect((await verifier.verify(token)).role).toBe('authenticated');
  });

  it('never serves a cached token past maxTokenAge', async () => {
    const es = await signingKey('ES256', 'k');
    const clock = manualClock();
    const verifier = createVerifier({ keys: [es.publicJwk], issuer: ISSUER, audience: AUDIENCE, cache: true, maxTokenAge: 5, now: clock.now });
    const token = await mint(es, { iat: Math.floor(clock.now() / 1000) });
    expect((await verifier.verify(token)).sub).toBe('user-1');
    clock.advance(6_000);
    expect((await codeOf(verifier.verify(token))).code).toBe('ERR_TOKEN_EXPIRED');
  });

  it('refuses tokens of a revoked session, including cached ones', async () => {
    const es = await signingKey('ES256', 'k');
    const denied = createDenyList();
    const verifier = createVerifier({ keys: [es.publicJwk], issuer: ISSUER, audience: AUDIENCE, cache: true, revocation: denied.check });
    const token = await mint(es, { session_id: 'session-1' });
    expect((await verifier.verify(token)).session_id).toBe('session-1');
    denied.add('session-1');
    expect((await codeOf(verifier.verify(token))).code).toBe('ERR_TOKEN_REVOKED');
    expect(() => verifier.verifySync(token)).toThrow(expect.objectContaining({ code: 'ERR_TOKEN_REVOKED' }));
    denied.delete('session-1');
    expect((await verifier.verify(token)).sub).toBe('user-1');

    const asyncHook = createVerifier({ keys: [es.publicJwk], issuer: ISSUER, audience: AUDIENCE, revocation: async (claims) => claims.sub === 'user-1' });
    expect((await codeOf(asyncHook.verify(token))).code).toBe('ERR_TOKEN_REVOKED');
    expect(() => asyncHook.verifySync(token)).toThrow(TypeError);
  });
});

describe('error codes', () => {
  it('has exactly the documented codes', () => {
    expect([...VERIFY_ERROR_CODES].sort()).toEqual(
      [
        'ERR_TOKEN_MALFORMED',
        'ERR_ALG_NOT_ALLOWED',
        'ERR_KEY_NOT_FOUND',
        'ERR_SIGNATURE_INVALID',
        'ERR_TOKEN_EXPIRED',
        'ERR_TOKEN_NOT_YET_VALID',
        'ERR_CLAIM_INVALID',
        'ERR_JWKS_UNAVAILABLE',
        'ERR_TOKEN_REVOKED',
        'ERR_REVOCATION_FEED_STALE',
        'ERR_REVOCATION_FEED_UNAUTHORIZED',
        'ERR_REVOCATION_FEED_UNAVAILABLE',
        'ERR_REVOCATION_FEED_CLOSED',
      ].sort(),
    );
  });

  it('verifies a raw HS256 token computed with node:crypto', async () => {
    const verifier = createVerifier({ secret: HMAC_SECRET, issuer: ISSUER, audience: AUDIENCE });
    const input = `${segment({ alg: 'HS256', typ: 'JWT' })}.${segment({ iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 60 })}`;
    const token = `${input}.${createHmac('sha256', HMAC_SECRET).update(input).digest('base64url')}`;
    expect((await verifier.verify(token)).iss).toBe(ISSUER);
  });
});
