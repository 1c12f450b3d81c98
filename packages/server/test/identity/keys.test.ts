import { createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiKeys, loadIdentitySettings, KeyStore } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { readSigningKey } from '../../src/admin/operations.js';
import { email, post, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'correct-horse-1';

async function signIn(app: IdentityServer): Promise<{ access_token: string; refresh_token: string }> {
  const answer = await post(`${app.auth}/signup`, { email: email('keys'), password: PASSWORD });
  expect(answer.status).toBe(200);
  return answer.body as never;
}

describeEachDatabase('signing keys and JWKS', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('publishes public keys only, with kid, alg, use, key_ops and a cache header', async () => {
    const response = await fetch(`${app.auth}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=600');
    const { keys } = (await response.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', key_ops: ['verify'], kid: expect.any(String) });
      expect(key).not.toHaveProperty('d');
      expect(key).not.toHaveProperty('ext');
    }
    const discovery = (await (await fetch(`${app.auth}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({ issuer: app.auth, jwks_uri: `${app.auth}/.well-known/jwks.json` });
  });

  it('issues access tokens jose verifies through createRemoteJWKSet; rotation keeps old tokens valid', async () => {
    const before = await signIn(app);
    const jwks = createRemoteJWKSet(new URL(app.identity.jwksUrl()));
    const verified = await jwtVerify(before.access_token, jwks, { issuer: app.auth, audience: 'authenticated' });
    expect(verified.payload.role).toBe('authenticated');
    const oldKid = decodeProtectedHeader(before.access_token).kid;

    const rotation = await app.identity.rotateSigningKey();
    expect(rotation.retiredKid).toBe(oldKid);
    const after = await signIn(app);
    const newKid = decodeProtectedHeader(after.access_token).kid;
    expect(newKid).toBe(rotation.kid);
    expect(newKid).not.toBe(oldKid);

    const freshJwks = createRemoteJWKSet(new URL(app.identity.jwksUrl()));
    await expect(jwtVerify(before.access_token, freshJwks)).resolves.toBeDefined();
    await expect(jwtVerify(after.access_token, freshJwks)).resolves.toBeDefined();
    // Refreshing an old session signs with the new key.
    const refreshed = await post(`${app.auth}/token?grant_type=refresh_token`, { refresh_token: before.refresh_token });
    expect(decodeProtectedHeader(refreshed.body.access_token as string).kid).toBe(rotation.kid);
    // Both still work on the API.
    for (const token of [before.access_token, after.access_token]) {
      const user = await fetch(`${app.auth}/user`, { headers: { authorization: `Bearer ${token}` } });
      expect(user.status).toBe(200);
    }
    // The retired key stays published until every token it signed has expired.
    const { rows } = await database().query<{ verify_until: Date }>('select verify_until from auth.signing_keys where kid = $1', [oldKid]);
    expect(rows[0]!.verify_until.getTime()).toBeGreaterThan(Date.now() + 3000 * 1000);
    // The admin report (CLI, console) names the signing key and each retired key with its end.
    const report = await readSigningKey(database(), loadIdentitySettings({}));
    expect(report.signing_kid).toBe(rotation.kid);
    expect(report.retired_keys).toContainEqual({ kid: oldKid, verify_until: rows[0]!.verify_until.toISOString() });
  });

  it('persists the API keys; anon is refused and service_role accepted on the admin API', async () => {
    const stored = await database().query<{ value: { anon_key: string } }>(`select value from latchkey.settings where key = 'identity.api_keys'`);
    expect(stored.rows[0]!.value.anon_key).toBe(app.anonKey);
    const claims = JSON.parse(Buffer.from(app.serviceRoleKey.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ role: 'service_role', iss: 'latchkey' });
    expect(app.server.banner.some((line) => line.includes(app.anonKey))).toBe(true);
    const asAnon = await fetch(`${app.auth}/admin/users`, { headers: { authorization: `Bearer ${app.anonKey}` } });
    expect(asAnon.status).toBe(403);
    const asService = await fetch(`${app.auth}/admin/users`, { headers: { authorization: `Bearer ${app.serviceRoleKey}` } });
    expect(asService.status).toBe(200);

    const second = await startIdentity(database());
    try {
      expect(second.anonKey).toBe(app.anonKey);
      expect(second.serviceRoleKey).toBe(app.serviceRoleKey);
    } finally {
      await second.close();
    }
  });

  it('accepts HS256 tokens signed with the legacy secret, including supabase_admin for the admin API', async () => {
    const secret = 'super-secret-jwt-token-with-at-least-32-characters-long';
    const legacy = await startIdentity(database(), { GOTRUE_JWT_SECRET: secret, GOTRUE_JWT_ADMIN_ROLES: 'service_role,supabase_admin' });
    try {
      const adminToken = await new SignJWT({ role: 'supabase_admin' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
      const list = await fetch(`${legacy.auth}/admin/users?page=1&per_page=1`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(list.status).toBe(200);
      expect(list.headers.get('x-total-count')).toMatch(/^\d+$/);
      const wrongSecret = await new SignJWT({ role: 'service_role' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('x'.repeat(40)));
      const refused = await fetch(`${legacy.auth}/admin/users`, { headers: { authorization: `Bearer ${wrongSecret}`, 'x-supabase-api-version': '2024-01-01' } });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: 'bad_jwt' });
      // Asymmetric signing goes on alongside the secret.
      const session = await signIn(legacy);
      expect(decodeProtectedHeader(session.access_token).alg).toBe('ES256');
    } finally {
      await legacy.close();
    }
  });

  it('signs with keys from GOTRUE_JWT_KEYS (RS256 and EdDSA) and publishes their public halves', async () => {
    for (const alg of ['RS256', 'EdDSA'] as const) {
      const { privateKey } = await generateKeyPair(alg, { extractable: true });
      const { privateKey: other } = await generateKeyPair('ES256', { extractable: true });
      const keys = [
        { ...(await exportJWK(privateKey)), kid: `main-${alg}`, alg, key_ops: ['sign', 'verify'] },
        { ...(await exportJWK(other)), kid: 'previous', alg: 'ES256', key_ops: ['verify'] },
      ];
      const configured = await startIdentity(database(), { GOTRUE_JWT_KEYS: JSON.stringify(keys) });
      try {
        const jwks = (await (await fetch(`${configured.auth}/.well-known/jwks.json`)).json()) as { keys: { kid: string; d?: string }[] };
        expect(jwks.keys.map((key) => key.kid).sort()).toEqual([`main-${alg}`, 'previous'].sort());
        expect(jwks.keys.every((key) => key.d === undefined)).toBe(true);
        const session = await signIn(configured);
        expect(decodeProtectedHeader(session.access_token)).toMatchObject({ alg, kid: `main-${alg}` });
        await expect(jwtVerify(session.access_token, createRemoteJWKSet(new URL(configured.identity.jwksUrl())))).resolves.toBeDefined();
        const user = await fetch(`${configured.auth}/user`, { headers: { authorization: `Bearer ${session.access_token}` } });
        expect(user.status).toBe(200);
      } finally {
        await configured.close();
      }
    }
  });
});

describe('key settings', () => {
  it('rejects malformed GOTRUE_JWT_KEYS with a ConfigError naming the variable', async () => {
    const settings = loadIdentitySettings({ GOTRUE_JWT_KEYS: '[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]' });
    await expect(KeyStore.open(null as never, settings)).rejects.toThrow(/^GOTRUE_JWT_KEYS: key 0: needs a "kid"/);
    const two = loadIdentitySettings({ LATCHKEY_JWT_KEYS: '[{"kty":"oct","k":"c2VjcmV0","kid":"a","key_ops":["sign"]},{"kty":"oct","k":"c2VjcmV0","kid":"b","key_ops":["sign"]}]' });
    await expect(KeyStore.open(null as never, two)).rejects.toThrow(/^LATCHKEY_JWT_KEYS: exactly one key must have "sign"/);
    await expect(KeyStore.open(null as never, loadIdentitySettings({ GOTRUE_JWT_KEYS: 'nope' }))).rejects.toThrow(/^GOTRUE_JWT_KEYS: must be a JSON array/);
  });

  it('uses LATCHKEY_ANON_KEY / LATCHKEY_SERVICE_ROLE_KEY as given', async () => {
    const anon = 'aaa.bbb.ccc';
    const service = 'ddd.eee.fff';
    const settings = loadIdentitySettings({ LATCHKEY_ANON_KEY: anon, LATCHKEY_SERVICE_ROLE_KEY: service });
    expect(await loadApiKeys(null as never, null as never, settings)).toEqual({ anonKey: anon, serviceRoleKey: service });
    expect(() => loadIdentitySettings({ LATCHKEY_ANON_KEY: 'not a jwt' })).toThrow('LATCHKEY_ANON_KEY: must be a JWT (three base64url parts)');
  });

});
