/**
 * The JWS algorithms the verifier knows, and how each maps onto `node:crypto`.
 * `none` is deliberately absent: no configuration can allow it.
 *
 * @module
 */
import { constants, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';

/** JWS algorithms accepted in the `algorithms` allow-list. */
export type Algorithm =
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'EdDSA'
  | 'Ed25519'
  | 'HS256'
  | 'HS384'
  | 'HS512';

/** How one algorithm is verified. */
export interface AlgorithmSpec {
  readonly name: Algorithm;
  readonly family: 'EC' | 'RSA' | 'RSA-PSS' | 'OKP' | 'HMAC';
  /** Digest for `crypto.verify`/`createHmac` (`null` for EdDSA). */
  readonly digest: 'sha256' | 'sha384' | 'sha512' | null;
  /** Curve the key must be on (EC and OKP). */
  readonly curve?: string;
  /** Exact signature length in bytes where fixed (EC in IEEE P1363 form, Ed25519, HMAC). */
  readonly signatureLength?: number;
}

const SPECS: Record<Algorithm, AlgorithmSpec> = {
  ES256: { name: 'ES256', family: 'EC', digest: 'sha256', curve: 'prime256v1', signatureLength: 64 },
  ES384: { name: 'ES384', family: 'EC', digest: 'sha384', curve: 'secp384r1', signatureLength: 96 },
  ES512: { name: 'ES512', family: 'EC', digest: 'sha512', curve: 'secp521r1', signatureLength: 132 },
  RS256: { name: 'RS256', family: 'RSA', digest: 'sha256' },
  RS384: { name: 'RS384', family: 'RSA', digest: 'sha384' },
  RS512: { name: 'RS512', family: 'RSA', digest: 'sha512' },
  PS256: { name: 'PS256', family: 'RSA-PSS', digest: 'sha256' },
  PS384: { name: 'PS384', family: 'RSA-PSS', digest: 'sha384' },
  PS512: { name: 'PS512', family: 'RSA-PSS', digest: 'sha512' },
  EdDSA: { name: 'EdDSA', family: 'OKP', digest: null },
  Ed25519: { name: 'Ed25519', family: 'OKP', digest: null, curve: 'ed25519', signatureLength: 64 },
  HS256: { name: 'HS256', family: 'HMAC', digest: 'sha256', signatureLength: 32 },
  HS384: { name: 'HS384', family: 'HMAC', digest: 'sha384', signatureLength: 48 },
  HS512: { name: 'HS512', family: 'HMAC', digest: 'sha512', signatureLength: 64 },
};

/** Minimum RSA modulus accepted (RFC 7518 §3.3). */
export const MIN_RSA_MODULUS_BITS = 2048;

/** The spec of `alg`, or `undefined` for anything unknown (including `none` in any spelling). */
export function algorithmSpec(alg: string): AlgorithmSpec | undefined {
  return Object.hasOwn(SPECS, alg) ? SPECS[alg as Algorithm] : undefined;
}

/** `true` for the HMAC algorithms. */
export function isSymmetric(alg: Algorithm): boolean {
  return SPECS[alg].family === 'HMAC';
}

/** Every algorithm name the verifier supports. */
export const SUPPORTED_ALGORITHMS: readonly Algorithm[] = Object.keys(SPECS) as Algorithm[];

/**
 * `true` when `key` (a public `KeyObject`) can verify `spec` signatures: right key type and curve,
 * RSA modulus at least {@link MIN_RSA_MODULUS_BITS}.
 */
export function keyFitsAlgorithm(key: KeyObject, spec: AlgorithmSpec): boolean {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  switch (spec.family) {
    case 'EC':
      return type === 'ec' && details?.namedCurve === spec.curve;
    case 'RSA':
    case 'RSA-PSS':
      return (type === 'rsa' || (spec.family === 'RSA-PSS' && type === 'rsa-pss')) &&
        (details?.modulusLength ?? 0) >= MIN_RSA_MODULUS_BITS;
    case 'OKP':
      return spec.curve ? type === spec.curve : type === 'ed25519' || type === 'ed448';
    case 'HMAC':
      return key.type === 'secret';
  }
}

/** Options object for `crypto.verify` for this algorithm and key. */
export function verifyKeyInput(key: KeyObject, spec: AlgorithmSpec): KeyObject | VerifyKeyObjectInput {
  switch (spec.family) {
    case 'EC':
      return { key, dsaEncoding: 'ieee-p1363' };
    case 'RSA-PSS':
      return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
    default:
      return key;
  }
}
