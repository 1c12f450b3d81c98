/** Keys and tokens shared by the verification benchmarks: one token per algorithm, typical claims. */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';

export const ISSUER = 'https://id.example.test/auth/v1';
export const AUDIENCE = 'authenticated';
export const SECRET = 'benchmark-hmac-secret-with-at-least-32-bytes';
export const ALGORITHMS = ['ES256', 'RS256', 'EdDSA', 'HS256'] as const;
export type BenchAlgorithm = (typeof ALGORITHMS)[number];

export interface Fixture {
  readonly alg: BenchAlgorithm;
  readonly token: string;
  /** Public JWK (asymmetric) with kid and alg. */
  readonly jwk: JWK | undefined;
  /** Public key or secret as a KeyObject. */
  readonly keyObject: KeyObject;
  /** PEM public key or the secret, for fast-jwt. */
  readonly fastJwtKey: string;
  /** Key for jose.jwtVerify. */
  readonly joseKey: CryptoKey | Uint8Array;
}

export async function createFixture(alg: BenchAlgorithm): Promise<Fixture> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: '8f5a7c1e-2b7d-4c1f-9a55-0d6c1b2e3f40',
    role: 'authenticated',
    email: 'user@example.test',
    session_id: 'b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e',
    aal: 'aal1',
    app_metadata: { provider: 'email', providers: ['email'], organization_id: 'org-1', org_role: 'member' },
    user_metadata: {},
    iat: now,
    exp: now + 3600,
  };
  if (alg === 'HS256') {
    const secret = new TextEncoder().encode(SECRET);
    const token = await new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(secret);
    return { alg, token, jwk: undefined, keyObject: createSecretKey(Buffer.from(SECRET)), fastJwtKey: SECRET, joseKey: secret };
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: `${alg.toLowerCase()}-1`, alg, use: 'sig' };
  const token = await new SignJWT(claims).setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' }).sign(privateKey);
  const keyObject = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  return {
    alg,
    token,
    jwk,
    keyObject,
    fastJwtKey: keyObject.export({ type: 'spki', format: 'pem' }) as string,
    joseKey: (await importJWK(jwk, alg)) as CryptoKey,
  };
}
