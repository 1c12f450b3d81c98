/**
 * Turning configured keys and JWKS members into `KeyObject`s bound to the algorithms they may verify.
 * Imported once; verification then uses the bound `KeyObject` synchronously.
 *
 * @module
 */
import { createPublicKey, createSecretKey, KeyObject, type JsonWebKey, type VerifyKeyObjectInput } from 'node:crypto';
import { algorithmSpec, isSymmetric, keyFitsAlgorithm, verifyKeyInput, type Algorithm } from './algorithms.js';

/** A verification key with the algorithms it is bound to. */
export interface VerificationKey {
  /** `kid` the key is published under, if any. */
  readonly kid: string | undefined;
  readonly key: KeyObject;
  /** Algorithm → the argument for `crypto.verify` (or the secret `KeyObject` for HMAC). */
  readonly inputs: ReadonlyMap<Algorithm, KeyObject | VerifyKeyObjectInput>;
}

/** A public key given directly: a JWK, a PEM/`KeyObject` with optional `kid` and `alg`. */
export type KeyInput =
  | JsonWebKey
  | { readonly key: KeyObject | string; readonly kid?: string; readonly alg?: Algorithm };

/** Minimum HMAC secret length in bytes (RFC 7518 §3.2: at least the hash output size for HS256). */
export const MIN_SECRET_BYTES = 32;

/**
 * Binds `key` to the allowed asymmetric algorithms it fits (narrowed to `alg` when given).
 * Returns `undefined` when none fits.
 */
function bind(key: KeyObject, kid: string | undefined, alg: string | undefined, allowed: readonly Algorithm[]): VerificationKey | undefined {
  const inputs = new Map<Algorithm, KeyObject | VerifyKeyObjectInput>();
  for (const candidate of allowed) {
    if (isSymmetric(candidate)) continue;
    if (alg !== undefined && candidate !== alg && !(alg === 'EdDSA' && candidate === 'Ed25519') && !(alg === 'Ed25519' && candidate === 'EdDSA')) continue;
    const spec = algorithmSpec(candidate);
    if (spec && keyFitsAlgorithm(key, spec)) inputs.set(candidate, verifyKeyInput(key, spec));
  }
  return inputs.size > 0 ? { kid, key, inputs } : undefined;
}

/**
 * Imports one member of a JSON Web Key Set. Members that cannot verify any allowed algorithm are
 * skipped (`undefined`): symmetric (`oct`) keys, private keys, `use` other than `sig`, `key_ops`
 * without `verify`, unknown `alg`, RSA below 2048 bits.
 */
export function importJwksMember(jwk: unknown, allowed: readonly Algorithm[]): VerificationKey | undefined {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return undefined;
  const member = jwk as Record<string, unknown>;
  if (typeof member.kty !== 'string' || member.kty === 'oct' || 'd' in member) return undefined;
  if (member.use !== undefined && member.use !== 'sig') return undefined;
  if (member.key_ops !== undefined && !(Array.isArray(member.key_ops) && member.key_ops.includes('verify'))) return undefined;
  if (member.kid !== undefined && typeof member.kid !== 'string') return undefined;
  if (member.alg !== undefined && (typeof member.alg !== 'string' || !algorithmSpec(member.alg))) return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: member as JsonWebKey, format: 'jwk' });
  } catch {
    return undefined;
  }
  return bind(key, member.kid, member.alg, allowed);
}

/** Imports a configured public key; throws `TypeError` when it cannot verify any allowed algorithm. */
export function importConfiguredKey(input: KeyInput, allowed: readonly Algorithm[]): VerificationKey {
  let key: KeyObject;
  let kid: string | undefined;
  let alg: string | undefined;
  if (typeof input === 'object' && input !== null && 'key' in input && (input.key instanceof KeyObject || typeof input.key === 'string')) {
    const given = input.key;
    key = given instanceof KeyObject ? (given.type === 'private' ? createPublicKey(given) : given) : createPublicKey(given);
    kid = typeof input.kid === 'string' ? input.kid : undefined;
    alg = typeof input.alg === 'string' ? input.alg : undefined;
  } else {
    const jwk = input as JsonWebKey;
    if (jwk.kty === 'oct') throw new TypeError('symmetric keys belong in the `secret` option, not in `keys`');
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = jwk;
    key = createPublicKey({ key: publicPart as JsonWebKey, format: 'jwk' });
    kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
    alg = typeof jwk.alg === 'string' ? jwk.alg : undefined;
  }
  if (key.type !== 'public') throw new TypeError('`keys` entries must be public keys');
  const bound = bind(key, kid, alg, allowed);
  if (!bound) throw new TypeError(`key${kid ? ` "${kid}"` : ''} cannot verify any of the allowed algorithms`);
  return bound;
}

/**
 * Imports an HMAC secret, published under `kid` when given; throws `TypeError` when shorter than
 * `minBytes` (default {@link MIN_SECRET_BYTES}).
 */
export function importSecret(secret: string | Uint8Array | KeyObject, allowed: readonly Algorithm[], kid?: string, minBytes: number = MIN_SECRET_BYTES): VerificationKey {
  const key = secret instanceof KeyObject ? secret : createSecretKey(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret));
  if (key.type !== 'secret') throw new TypeError('`secret` must be a symmetric key');
  if ((key.symmetricKeySize ?? 0) < minBytes) throw new TypeError(`\`secret\` must be at least ${minBytes} bytes`);
  const inputs = new Map<Algorithm, KeyObject>();
  for (const alg of allowed) if (isSymmetric(alg)) inputs.set(alg, key);
  return { kid, key, inputs };
}
