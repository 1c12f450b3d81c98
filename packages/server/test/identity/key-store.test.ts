import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, importJWK, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { KeyStore, loadIdentitySettings, rotateSigningKey } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';

const PREFIX = 'invalid JWT: unable to parse or verify signature, ';

async function refusal(promise: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const failure = error as { status: number; code: string; message: string };
    return { status: failure.status, code: failure.code, message: failure.message };
  }
  throw new Error('expected a refusal');
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

describeEachDatabase('the identity key store', (database) => {
  it('verifies its own tokens as GoTrue does: any iss and aud, exp only when present', async () => {
    const keys = await KeyStore.open(database(), loadIdentitySettings({}));
    const token = await keys.sign({ sub: 'u', role: 'service_role' });
    expect(await keys.verify(token)).toEqual({ sub: 'u', role: 'service_role' });
    const foreign = await keys.sign({ iss: 'elsewhere', aud: ['x', 'y'], exp: now() + 60, iat: now() + 30 });
    expect((await keys.verify(foreign)).aud).toEqual(['x', 'y']);
    // Real jose accepts what this store signs.
    const published = JSON.parse(keys.jwksJson()) as { keys: { kid: string }[] };
    const jwk = published.keys.find((key) => key.kid === keys.signingKey.kid)!;
    await expect(jwtVerify(token, await importJWK(jwk, 'ES256'))).resolves.toMatchObject({ protectedHeader: { alg: 'ES256', kid: keys.signingKey.kid } });
  });

  it('refuses bad tokens with bad_jwt and GoTrue-style details', async () => {
    const keys = await KeyStore.open(database(), loadIdentitySettings({}));
    const expired = await keys.sign({ sub: 'u', exp: now() - 5 });
    expect(await refusal(keys.verify(expired))).toEqual({ status: 403, code: 'bad_jwt', message: `${PREFIX}token has invalid claims: token is expired` });
    const valid = await keys.sign({ sub: 'u' });
    const tampered = `${valid.slice(0, valid.lastIndexOf('.') + 1)}${'A'.repeat(86)}`;
    expect((await refusal(keys.verify(tampered))).message).toBe(`${PREFIX}token signature is invalid: signature is invalid`);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const stranger = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'ES256', kid: 'stranger' }).sign(privateKey);
    expect((await refusal(keys.verify(stranger))).message).toBe(`${PREFIX}token is unverifiable: no matching key`);
    const hmac = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('x'.repeat(40)));
    expect((await refusal(keys.verify(hmac))).message).toBe(`${PREFIX}token is unverifiable: signing method is not allowed`);
    const early = await keys.sign({ sub: 'u', nbf: now() + 600 });
    expect((await refusal(keys.verify(early))).message).toMatch(new RegExp(`^${PREFIX}token has invalid claims: `));
    expect(await refusal(keys.verify('not-a-token'))).toEqual({ status: 403, code: 'bad_jwt', message: `${PREFIX}token is malformed: could not parse the token` });
  });

  it('accepts tokens signed after a rotation made by another process (unknown kid: keys re-read)', async () => {
    const settings = loadIdentitySettings({});
    const first = await KeyStore.open(database(), settings);
    const second = await KeyStore.open(database(), settings);
    expect(second.signingKey.kid).toBe(first.signingKey.kid);
    const rotation = await rotateSigningKey(database(), settings);
    await first.reload();
    const token = await first.sign({ sub: 'u' });
    expect(decodeProtectedHeader(token).kid).toBe(rotation.kid);
    expect(second.kids).not.toContain(rotation.kid);
    expect((await second.verify(token)).sub).toBe('u');
    expect(second.kids).toContain(rotation.kid);
  });
});

describe('configured HS256 keys', () => {
  it('signs with an oct key by kid and accepts the legacy secret beside it', async () => {
    const legacy = 'the-legacy-secret-of-32-bytes!!!';
    const oct = { kty: 'oct', k: Buffer.from('an-oct-key-of-enough-bytes-here!').toString('base64url'), kid: 'hs-main', key_ops: ['sign', 'verify'] };
    const keys = await KeyStore.open(null as never, loadIdentitySettings({ GOTRUE_JWT_KEYS: JSON.stringify([oct]), GOTRUE_JWT_SECRET: legacy, GOTRUE_JWT_KEY_ID: 'legacy' }));
    expect(keys.signingKey).toEqual({ kid: 'hs-main', alg: 'HS256' });
    expect(keys.jwksJson()).toBe('{"keys":[]}');
    const signed = await keys.sign({ sub: 'u' });
    expect(decodeProtectedHeader(signed)).toMatchObject({ alg: 'HS256', kid: 'hs-main' });
    expect((await keys.verify(signed)).sub).toBe('u');
    for (const header of [{ alg: 'HS256' }, { alg: 'HS256', kid: 'legacy' }, { alg: 'HS256', kid: 'unknown' }]) {
      const token = await new SignJWT({ sub: 'legacy' }).setProtectedHeader(header).sign(new TextEncoder().encode(legacy));
      expect((await keys.verify(token)).sub).toBe('legacy');
    }
    const wrongKey = await new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'HS256', kid: 'hs-main' }).sign(new TextEncoder().encode(legacy));
    expect((await refusal(keys.verify(wrongKey))).message).toBe(`${PREFIX}token signature is invalid: signature is invalid`);
  });

  it('refuses an oct key shorter than 32 bytes at start, naming the variable', async () => {
    const oct = { kty: 'oct', k: Buffer.from('a-31-byte-secret-just-too-short').toString('base64url'), kid: 'hs' };
    await expect(KeyStore.open(null as never, loadIdentitySettings({ LATCHKEY_JWT_KEYS: JSON.stringify([oct]) }))).rejects.toThrow(
      /^LATCHKEY_JWT_KEYS: key 0: an oct key needs a "k" of at least 32 bytes/,
    );
  });
});
