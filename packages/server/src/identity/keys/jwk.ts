import type { JsonWebKey } from 'node:crypto';
import { ConfigError } from '../../config/index.js';

/** A JSON Web Key (RFC 7517) as configured, stored and published. */
export interface Jwk extends JsonWebKey {
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  ext?: boolean;
}

/** Shortest accepted `oct` (HS256) key, in bytes: RFC 7518 §3.2, as for `LATCHKEY_JWT_SECRET`. */
const MIN_OCT_KEY_BYTES = 32;

/** Signature algorithms the identity service signs and verifies with. */
export type SigningAlgorithm = 'ES256' | 'RS256' | 'EdDSA' | 'HS256';

/** A private key as configured or generated, before import. */
export interface PrivateKeyDescription {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** The private JWK (`d`/`k` present). */
  readonly privateJwk: Jwk;
  /** Whether this key signs new tokens (exactly one does). */
  readonly signs: boolean;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * The public half of an asymmetric JWK as published in the JWKS: key material, `kid`, `alg`,
 * `use: "sig"`, `key_ops: ["verify"]` (what WebCrypto's `importKey(..., ['verify'])` accepts).
 */
export function publicJwk(jwk: Jwk, kid: string, alg: SigningAlgorithm): Jwk {
  const copy: Record<string, unknown> = { ...jwk };
  for (const member of PRIVATE_MEMBERS) delete copy[member];
  delete copy.ext;
  delete copy.key_ops;
  delete copy.use;
  return { ...(copy as Jwk), kid, alg, use: 'sig', key_ops: ['verify'] };
}

/** The algorithm a JWK signs with: its `alg`, or what its key type implies. */
function algorithmOf(jwk: Jwk, variable: string, index: number): SigningAlgorithm {
  const declared = jwk.alg;
  if (jwk.kty === 'oct') {
    if (declared !== undefined && declared !== 'HS256') throw new ConfigError(variable, `key ${index}: only HS256 is supported for oct keys (got ${declared})`);
    return 'HS256';
  }
  if (jwk.kty === 'EC') {
    if (jwk.crv !== 'P-256' || (declared !== undefined && declared !== 'ES256')) throw new ConfigError(variable, `key ${index}: EC keys must be P-256 / ES256`);
    return 'ES256';
  }
  if (jwk.kty === 'RSA') {
    if (declared !== undefined && declared !== 'RS256') throw new ConfigError(variable, `key ${index}: RSA keys must use RS256 (got ${declared})`);
    return 'RS256';
  }
  if (jwk.kty === 'OKP') {
    if (jwk.crv !== 'Ed25519' || (declared !== undefined && declared !== 'EdDSA' && declared !== 'Ed25519')) {
      throw new ConfigError(variable, `key ${index}: OKP keys must be Ed25519 / EdDSA`);
    }
    return 'EdDSA';
  }
  throw new ConfigError(variable, `key ${index}: unsupported key type ${JSON.stringify(jwk.kty)} (RSA, EC P-256, OKP Ed25519 or oct)`);
}

/**
 * Parses `LATCHKEY_JWT_KEYS` / `GOTRUE_JWT_KEYS`: a JSON array of private JWKs, each with a `kid`.
 * The signing key is the one whose `key_ops` holds `sign` (exactly one may), or the only key when
 * none declares `key_ops`.
 */
export function parseJwtKeys(variable: string, text: string): PrivateKeyDescription[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(variable, 'must be a JSON array of private JWKs');
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new ConfigError(variable, 'must be a non-empty JSON array of private JWKs');
  const keys = parsed.map((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError(variable, `key ${index}: must be a JWK object`);
    const jwk = entry as Jwk;
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new ConfigError(variable, `key ${index}: needs a "kid"`);
    const alg = algorithmOf(jwk, variable, index);
    const ops = Array.isArray(jwk.key_ops) ? jwk.key_ops : null;
    return { jwk, alg, ops, index };
  });
  const kids = new Set<string>();
  for (const key of keys) {
    if (kids.has(key.jwk.kid!)) throw new ConfigError(variable, `two keys share kid ${JSON.stringify(key.jwk.kid)}`);
    kids.add(key.jwk.kid!);
  }
  let signers = keys.filter((key) => key.ops?.includes('sign'));
  if (signers.length === 0 && keys.length === 1 && keys[0]!.ops === null) signers = keys;
  if (signers.length !== 1) throw new ConfigError(variable, `exactly one key must have "sign" in key_ops (found ${signers.length})`);
  const signer = signers[0]!;
  const material = signer.alg === 'HS256' ? signer.jwk.k : signer.jwk.d;
  if (typeof material !== 'string' || material === '') throw new ConfigError(variable, `key ${signer.index}: the signing key must include its private part`);
  for (const key of keys) {
    if (key.alg !== 'HS256') continue;
    if (typeof key.jwk.k !== 'string' || Buffer.from(key.jwk.k, 'base64url').length < MIN_OCT_KEY_BYTES) {
      throw new ConfigError(variable, `key ${key.index}: an oct key needs a "k" of at least ${MIN_OCT_KEY_BYTES} bytes`);
    }
  }
  return keys.map((key) => ({ kid: key.jwk.kid!, alg: key.alg, privateJwk: key.jwk, signs: key === signer }));
}
