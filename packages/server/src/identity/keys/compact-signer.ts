import { createHmac, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { Jwk, SigningAlgorithm } from './jwk.js';

/** Signs a claims object into a compact JWS with a fixed header. */
export type CompactSigner = (claims: object) => string;

/**
 * The identity service's JWS signer (the only one): synchronous `node:crypto` for the key new tokens
 * are signed with. Token issuance
 * is on every login and refresh; jose's WebCrypto signing costs several times the signature itself
 * here, so the header is encoded once and each token is one `crypto.sign` (or HMAC). The result is a
 * standard compact JWS that jose and every other verifier accept.
 */
export function createCompactSigner(alg: SigningAlgorithm, privateJwk: Jwk, kid: string | undefined): CompactSigner {
  const header = kid === undefined ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid };
  const prefix = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.`;
  if (alg === 'HS256') {
    if (typeof privateJwk.k !== 'string') throw new TypeError('an HS256 key needs its "k" member');
    const secret = Buffer.from(privateJwk.k, 'base64url');
    return (claims) => {
      const input = prefix + Buffer.from(JSON.stringify(claims)).toString('base64url');
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
  }
  const { key_ops: _ops, use: _use, ext: _ext, alg: _alg, kid: _kid, ...material } = privateJwk;
  const key: KeyObject = createPrivateKey({ key: material, format: 'jwk' });
  const digest = alg === 'EdDSA' ? null : 'sha256';
  const options = alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' as const } : { key };
  return (claims) => {
    const input = prefix + Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${input}.${sign(digest, Buffer.from(input), options).toString('base64url')}`;
  };
}
