/**
 * `createVerifier`: bearer JWT verification for resource servers.
 *
 * Keys are imported once (per `kid`) into `KeyObject`s; each verification is then synchronous
 * `node:crypto` work plus claim checks. Only the first use of a key set, a refetch for an unknown
 * `kid`, or an asynchronous revocation hook waits on I/O.
 *
 * @module
 */
import { createHmac, timingSafeEqual, verify as cryptoVerify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';
import { TokenCache, type TokenCacheOptions } from './cache.js';
import { AlgorithmNotAllowedError, ClaimInvalidError, KeyNotFoundError, SignatureInvalidError, TokenRevokedError } from './errors.js';
import { algorithmSpec, isSymmetric, SUPPORTED_ALGORITHMS, type Algorithm, type AlgorithmSpec } from './jwt/algorithms.js';
import { checkClaims, type ClaimRules, type Claims, type UncheckedClaims } from './jwt/claims.js';
import { decodePayload, decodeToken, type DecodedToken, type TokenLimits } from './jwt/decode.js';
import { RemoteJwks, type JwksOptions, type JwksState } from './jwt/jwks.js';
import { importConfiguredKey, importSecret, MIN_SECRET_BYTES, type KeyInput, type VerificationKey } from './jwt/keys.js';
import { LocalKeys, type KeySet } from './jwt/local.js';
import type { RevocationCheck } from './revocation.js';

/** One HMAC secret among several, chosen by the token's `kid`. */
export interface SecretInput {
  /** The shared secret (UTF-8 string, bytes, or a secret `KeyObject`). */
  readonly secret: string | Uint8Array | KeyObject;
  /**
   * `kid` of the tokens this secret signs. A token whose `kid` names no configured secret (or that has
   * no `kid`) is checked with the secrets configured without one.
   */
  readonly kid?: string;
}

/**
 * Every option of {@link createVerifier}, including the relaxed rules (`issuer: null`, `audience: null`,
 * `requireExpiry: false`) an issuer uses for its own tokens. At least one of `jwksUrl`, `keys`, `keySet`,
 * `secret` is required. A resource server uses {@link VerifierOptions}.
 */
export interface LenientVerifierOptions {
  /** URL of the issuer's JSON Web Key Set, e.g. `https://id.example.com/auth/v1/.well-known/jwks.json`. */
  readonly jwksUrl?: string | URL;
  /** Cache and transport settings for `jwksUrl`. */
  readonly jwks?: JwksOptions;
  /** Public keys given directly: JWKs, a JWK Set, or `{ key: KeyObject | PEM, kid?, alg? }`. */
  readonly keys?: readonly KeyInput[] | { readonly keys: readonly KeyInput[] };
  /**
   * Public keys held in this process that may change at run time (an issuer verifying its own
   * tokens through key rotations). Consulted after `keys` and before `jwksUrl`.
   */
  readonly keySet?: KeySet;
  /**
   * Shared secret for HS256/384/512 (at least `minSecretBytes`), or several chosen by `kid`. HMAC
   * tokens are verified with these secrets only, never with a key from `keys`, `keySet` or the JWKS.
   */
  readonly secret?: string | Uint8Array | KeyObject | readonly SecretInput[];
  /**
   * Shortest accepted `secret`, in bytes. Default is 32 (RFC 7518 §3.2: an HS256 key has 256 bits).
   * Lower it only to honour an existing configuration that allows shorter secrets (a Centrifugo
   * `hmac_secret_key`, for one).
   */
  readonly minSecretBytes?: number;
  /**
   * Accepted `iss` value(s). Required; `null` accepts any issuer and does not require the claim — only
   * for keys that sign for a single issuer (GoTrue's rule for its own tokens).
   */
  readonly issuer: string | readonly string[] | null;
  /**
   * Accepted `aud` value(s); the token must name at least one. Required; `null` accepts any audience
   * and does not require the claim (GoTrue's rule for its own tokens).
   */
  readonly audience: string | readonly string[] | null;
  /** Whether `exp` must be present. Default is `true`; with `false` a present `exp` is still checked. */
  readonly requireExpiry?: boolean;
  /**
   * Refuse tokens whose `iat` lies in the future (beyond `clockTolerance`). Default is `true`; with
   * `false`, `iat` is checked only for `maxTokenAge` (jose's and GoTrue's rule).
   */
  readonly checkIssuedAt?: boolean;
  /**
   * Allow-list of `alg` values. `none` is never accepted; HS* only together with `secret`.
   * Default is `['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA']` for keys and JWKS, plus `['HS256']` with a secret.
   */
  readonly algorithms?: readonly Algorithm[];
  /** Seconds of leeway for `exp`, `nbf` and `iat`. Default is 0. */
  readonly clockTolerance?: number;
  /** Claims that must be present, added to the defaults `exp`, `iss`, `aud` (as far as required above). */
  readonly requiredClaims?: readonly string[];
  /** When set, `iat` is required and tokens older than this many seconds are expired. */
  readonly maxTokenAge?: number;
  /** Required header `typ` (compared case-insensitively, `application/` prefix ignored), e.g. `at+jwt`. Not checked by default. */
  readonly typ?: string;
  /** Longest accepted token, in characters. Default is 16384. */
  readonly maxTokenLength?: number;
  /** Longest accepted encoded header, in characters. Default is 8192. */
  readonly maxHeaderLength?: number;
  /** Cache verified tokens (`true` for the defaults). Default is off. */
  readonly cache?: boolean | TokenCacheOptions;
  /** Called after every successful verification; `true` refuses the token with `ERR_TOKEN_REVOKED`. */
  readonly revocation?: RevocationCheck;
  /** Clock in milliseconds since the epoch. Default is `Date.now`. */
  readonly now?: () => number;
}

/**
 * Options of {@link createVerifier} for a resource server: issuer, audience and expiry are checked, so
 * the verifier promises {@link Claims} with `iss`, `aud` and `exp` present.
 */
export type VerifierOptions = LenientVerifierOptions & {
  readonly issuer: string | readonly string[];
  readonly audience: string | readonly string[];
  readonly requireExpiry?: true;
};

/** Same as {@link VerifierOptions}. */
export type StrictVerifierOptions = VerifierOptions;

/**
 * A configured verifier. `C` is {@link Claims} when issuer, audience and expiry are required, and
 * {@link UncheckedClaims} when the verifier was created with any of them relaxed.
 */
export interface Verifier<C extends UncheckedClaims = Claims> {
  /**
   * Verifies `token` (a compact JWS, without the `Bearer ` prefix) and resolves to its claims.
   * Rejects with a {@link VerifyError} subclass.
   */
  verify(token: string): Promise<C>;
  /**
   * Same checks as {@link Verifier.verify} for hot paths: returns the claims synchronously (or
   * throws a {@link VerifyError}) when no I/O is needed, and a promise only when the key set must be
   * fetched or the revocation hook answers asynchronously. Always present on verifiers made by
   * {@link createVerifier}; optional so that wrappers may implement only `verify`.
   */
  verifyFast?(token: string): C | Promise<C>;
  /**
   * Synchronous verification with keys already in memory (static keys, the secret, or a fresh
   * JWKS). Throws `ERR_KEY_NOT_FOUND` where {@link Verifier.verify} would fetch the key set, and a
   * `TypeError` when the revocation hook answers asynchronously.
   */
  verifySync(token: string): C;
  /** State of the remote key set; `undefined` without `jwksUrl`. */
  readonly jwks: JwksState | undefined;
  /** The effective algorithm allow-list. */
  readonly algorithms: readonly Algorithm[];
}

/** `Array.isArray` without its narrowing to `any[]`, for options that may come from untyped callers. */
function isList(value: unknown): boolean {
  return Array.isArray(value);
}

const DEFAULT_ASYMMETRIC: readonly Algorithm[] = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

function list(value: string | readonly string[] | null, name: string): ReadonlySet<string> | undefined {
  if (value === null) return undefined;
  const values = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(values) || values.length === 0 || values.some((entry) => typeof entry !== 'string' || entry === '')) {
    throw new TypeError(`\`${name}\` must be a non-empty string or array of strings`);
  }
  return new Set(values);
}

function normaliseTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`\`${name}\` must be a positive integer`);
  return value;
}

/**
 * Creates a verifier. Options are validated here (a `TypeError` names the bad option), not on the
 * first request.
 *
 * @example
 * ```ts
 * const verifier = createVerifier({
 *   jwksUrl: 'http://127.0.0.1:8000/auth/v1/.well-known/jwks.json',
 *   issuer: 'http://127.0.0.1:8000/auth/v1',
 *   audience: 'authenticated',
 * });
 * const claims = await verifier.verify(token); // throws VerifyError with a stable code
 * ```
 *
 * An issuer checking its own tokens as GoTrue does (any `iss` and `aud`, `exp` when present):
 * ```ts
 * const own = createVerifier({ keySet, issuer: null, audience: null, requireExpiry: false, checkIssuedAt: false });
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier;
export function createVerifier(options: LenientVerifierOptions): Verifier<UncheckedClaims>;
export function createVerifier(options: LenientVerifierOptions): Verifier<UncheckedClaims> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options are required');
  const now = options.now ?? Date.now;
  const staticInputs = options.keys === undefined ? undefined : isList(options.keys) ? (options.keys as readonly KeyInput[]) : (options.keys as { keys: readonly KeyInput[] }).keys;
  if (staticInputs !== undefined && !isList(staticInputs)) throw new TypeError('`keys` must be an array or a JWK Set');
  const hasAsymmetric = options.jwksUrl !== undefined || staticInputs !== undefined || options.keySet !== undefined;
  const hasSecret = options.secret !== undefined;
  if (!hasAsymmetric && !hasSecret) throw new TypeError('one of `jwksUrl`, `keys`, `keySet` or `secret` is required');

  const algorithms: readonly Algorithm[] = options.algorithms ?? [...(hasAsymmetric ? DEFAULT_ASYMMETRIC : []), ...(hasSecret ? (['HS256'] as const) : [])];
  if (!isList(algorithms) || algorithms.length === 0) throw new TypeError('`algorithms` must be a non-empty array');
  for (const alg of algorithms) {
    if (!SUPPORTED_ALGORITHMS.includes(alg)) throw new TypeError(`unsupported algorithm ${JSON.stringify(alg)} in \`algorithms\``);
    if (isSymmetric(alg) && !hasSecret) throw new TypeError(`\`algorithms\` lists ${alg} but no \`secret\` is configured (HMAC keys never come from a key set)`);
  }
  if (hasSecret && !algorithms.some(isSymmetric)) throw new TypeError('`secret` is configured but `algorithms` lists no HS algorithm');
  if (hasAsymmetric && !algorithms.some((alg) => !isSymmetric(alg))) throw new TypeError('`algorithms` lists no algorithm for `keys`/`keySet`/`jwksUrl`');
  const allowed = new Set<string>(algorithms);

  const clockTolerance = options.clockTolerance ?? 0;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) throw new TypeError('`clockTolerance` must be a non-negative number of seconds');
  if (options.maxTokenAge !== undefined && (!Number.isFinite(options.maxTokenAge) || options.maxTokenAge <= 0)) {
    throw new TypeError('`maxTokenAge` must be a positive number of seconds');
  }
  if (options.requireExpiry !== undefined && typeof options.requireExpiry !== 'boolean') throw new TypeError('`requireExpiry` must be a boolean');
  if (options.checkIssuedAt !== undefined && typeof options.checkIssuedAt !== 'boolean') throw new TypeError('`checkIssuedAt` must be a boolean');
  const issuers = list(options.issuer, 'issuer');
  const audiences = list(options.audience, 'audience');
  const required = new Set([
    ...(options.requireExpiry === false ? [] : ['exp']),
    ...(issuers === undefined ? [] : ['iss']),
    ...(audiences === undefined ? [] : ['aud']),
    ...(options.requiredClaims ?? []),
  ]);
  const rules: ClaimRules = {
    issuers,
    audiences,
    requiredClaims: [...required],
    clockTolerance,
    maxTokenAge: options.maxTokenAge,
    checkIssuedAt: options.checkIssuedAt ?? true,
  };
  const limits: TokenLimits = {
    maxTokenLength: positiveInteger(options.maxTokenLength, 16_384, 'maxTokenLength'),
    maxHeaderLength: positiveInteger(options.maxHeaderLength, 8_192, 'maxHeaderLength'),
  };
  const expectedTyp = options.typ === undefined ? undefined : normaliseTyp(options.typ);

  const minSecretBytes = options.minSecretBytes ?? MIN_SECRET_BYTES;
  if (!Number.isInteger(minSecretBytes) || minSecretBytes < 1) throw new TypeError('`minSecretBytes` must be a positive integer');
  const secrets = hasSecret ? importSecrets(options.secret, algorithms, minSecretBytes) : undefined;
  const staticKeys = staticInputs?.map((input) => importConfiguredKey(input, algorithms));
  const staticByKid = new Map<string, VerificationKey[]>();
  for (const key of staticKeys ?? []) {
    if (key.kid === undefined) continue;
    const entries = staticByKid.get(key.kid);
    if (entries) entries.push(key);
    else staticByKid.set(key.kid, [key]);
  }
  const local = options.keySet === undefined ? undefined : new LocalKeys(options.keySet, algorithms);
  const remote = options.jwksUrl === undefined ? undefined : new RemoteJwks(options.jwksUrl, algorithms, options.jwks ?? {}, now);
  if (options.jwks !== undefined && remote === undefined) throw new TypeError('`jwks` options need `jwksUrl`');

  const cacheOptions = options.cache === true ? {} : options.cache === false || options.cache === undefined ? undefined : options.cache;
  const cache = cacheOptions === undefined ? undefined : new TokenCache(cacheOptions);
  const revocation = options.revocation;
  if (revocation !== undefined && typeof revocation !== 'function') throw new TypeError('`revocation` must be a function');

  /**
   * Keys available without I/O; `undefined` when the key set must be refreshed or the remote set
   * consulted first ({@link lookupKeys}).
   */
  function keysInMemory(kid: string | undefined): readonly VerificationKey[] | undefined {
    const fromStatic = staticKeys === undefined ? undefined : kid === undefined ? staticKeys : staticByKid.get(kid);
    if (fromStatic !== undefined && fromStatic.length > 0) return fromStatic;
    if (local !== undefined) {
      const fromLocal = local.find(kid);
      if (fromLocal.length > 0) return fromLocal;
      if (local.refreshable) return undefined;
    }
    if (remote === undefined) return [];
    return remote.peek(kid);
  }

  /** Keys for `kid` after refreshing the in-process set and (re)loading the remote one as needed. */
  async function lookupKeys(kid: string | undefined): Promise<readonly VerificationKey[]> {
    if (local !== undefined && local.refreshable) {
      const refreshed = await local.refresh(kid);
      if (refreshed.length > 0) return refreshed;
      const known = remote?.peek(kid);
      if (known !== undefined && known.length > 0) return known;
    }
    return remote === undefined ? [] : remote.lookup(kid);
  }

  /** Secrets for an HMAC token: those published under its `kid`, else those without one. */
  function secretsFor(kid: string | undefined): readonly VerificationKey[] {
    if (secrets === undefined) return [];
    if (kid !== undefined) {
      const named = secrets.byKid.get(kid);
      if (named !== undefined) return named;
    }
    return secrets.unnamed;
  }

  function checkHeader(decoded: DecodedToken): AlgorithmSpec {
    const alg = decoded.header.alg;
    const spec = allowed.has(alg) ? algorithmSpec(alg) : undefined;
    if (!spec) throw new AlgorithmNotAllowedError();
    if (expectedTyp !== undefined) {
      const typ = decoded.header.typ;
      if (typ === undefined || normaliseTyp(typ) !== expectedTyp) throw new ClaimInvalidError('typ', 'unexpected "typ" header');
    }
    return spec;
  }

  function checkSignature(decoded: DecodedToken, spec: AlgorithmSpec, keys: readonly VerificationKey[]): void {
    let candidates = 0;
    const data = decoded.signingInput;
    for (const entry of keys) {
      const input = entry.inputs.get(spec.name);
      if (input === undefined) continue;
      candidates += 1;
      if (signatureMatches(spec, input, data, decoded.signature)) return;
      if (candidates >= 4) break;
    }
    if (candidates === 0) {
      if (keys.length === 0) throw new KeyNotFoundError();
      throw new AlgorithmNotAllowedError('algorithm does not match the signing key');
    }
    throw new SignatureInvalidError();
  }

  function finish(cacheKey: string | undefined, decoded: DecodedToken): UncheckedClaims {
    const payload = decodePayload(decoded.payloadSegment);
    const nowMs = now();
    const validUntil = checkClaims(payload, rules, nowMs / 1000);
    const claims = Object.freeze(payload) as UncheckedClaims;
    if (cache !== undefined && cacheKey !== undefined) cache.set(cacheKey, decoded.signingInput, claims, nowMs, validUntil * 1000);
    return claims;
  }

  function afterRevocation(claims: UncheckedClaims): UncheckedClaims | Promise<UncheckedClaims> {
    if (revocation === undefined) return claims;
    const revoked = revocation(claims as Claims);
    if (revoked === true) throw new TokenRevokedError();
    if (revoked === false) return claims;
    return Promise.resolve(revoked).then((value) => {
      if (value) throw new TokenRevokedError();
      return claims;
    });
  }

  function verifyFast(token: string): UncheckedClaims | Promise<UncheckedClaims> {
    let cacheKey: string | undefined;
    if (cache !== undefined && typeof token === 'string' && token.length <= limits.maxTokenLength) {
      cacheKey = TokenCache.key(token);
      const hit = cacheKey === undefined ? undefined : cache.get(cacheKey, token, now());
      if (hit !== undefined) return afterRevocation(hit);
    }
    const decoded = decodeToken(token, limits);
    const spec = checkHeader(decoded);
    if (spec.family === 'HMAC') {
      checkSignature(decoded, spec, secretsFor(decoded.header.kid));
      return afterRevocation(finish(cacheKey, decoded));
    }
    const keys = keysInMemory(decoded.header.kid);
    if (keys !== undefined) {
      checkSignature(decoded, spec, keys);
      return afterRevocation(finish(cacheKey, decoded));
    }
    // The key set must be refreshed or (re)loaded first: the only path that waits on I/O.
    return lookupKeys(decoded.header.kid).then((fetched) => {
      checkSignature(decoded, spec, fetched);
      return afterRevocation(finish(cacheKey, decoded));
    });
  }

  function verify(token: string): Promise<UncheckedClaims> {
    try {
      return Promise.resolve(verifyFast(token));
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what verifyFast threw
      return Promise.reject(error);
    }
  }

  function verifySync(token: string): UncheckedClaims {
    let cacheKey: string | undefined;
    let claims: UncheckedClaims | undefined;
    if (cache !== undefined && typeof token === 'string' && token.length <= limits.maxTokenLength) {
      cacheKey = TokenCache.key(token);
      claims = cacheKey === undefined ? undefined : cache.get(cacheKey, token, now());
    }
    if (claims === undefined) {
      const decoded = decodeToken(token, limits);
      const spec = checkHeader(decoded);
      const keys = spec.family === 'HMAC' ? secretsFor(decoded.header.kid) : (keysInMemory(decoded.header.kid) ?? []);
      checkSignature(decoded, spec, keys);
      claims = finish(cacheKey, decoded);
    }
    const result = afterRevocation(claims);
    if (result instanceof Promise) {
      result.catch(() => undefined);
      throw new TypeError('the revocation hook is asynchronous; use verify()');
    }
    return result;
  }

  return { verify, verifyFast, verifySync, jwks: remote, algorithms: Object.freeze([...algorithms]) };
}

interface Secrets {
  readonly byKid: ReadonlyMap<string, VerificationKey[]>;
  readonly unnamed: readonly VerificationKey[];
}

function importSecrets(secret: NonNullable<VerifierOptions['secret']>, algorithms: readonly Algorithm[], minBytes: number): Secrets {
  if (!Array.isArray(secret)) return { byKid: new Map(), unnamed: [importSecret(secret as string | Uint8Array | KeyObject, algorithms, undefined, minBytes)] };
  if (secret.length === 0) throw new TypeError('`secret` must not be an empty array');
  const byKid = new Map<string, VerificationKey[]>();
  const unnamed: VerificationKey[] = [];
  for (const entry of secret as readonly SecretInput[]) {
    if (typeof entry !== 'object' || entry === null || !('secret' in entry)) throw new TypeError('`secret` entries must be `{ secret, kid? }`');
    if (entry.kid !== undefined && (typeof entry.kid !== 'string' || entry.kid === '')) throw new TypeError('`secret` entry `kid` must be a non-empty string');
    const key = importSecret(entry.secret, algorithms, entry.kid, minBytes);
    if (entry.kid === undefined) unnamed.push(key);
    else {
      const named = byKid.get(entry.kid);
      if (named) named.push(key);
      else byKid.set(entry.kid, [key]);
    }
  }
  return { byKid, unnamed };
}

function signatureMatches(spec: AlgorithmSpec, input: KeyObject | VerifyKeyObjectInput, data: string, signature: Buffer): boolean {
  if (spec.signatureLength !== undefined && signature.length !== spec.signatureLength) return false;
  try {
    if (spec.family === 'HMAC') {
      const mac = createHmac(spec.digest as string, input as KeyObject).update(data).digest();
      return timingSafeEqual(mac, signature);
    }
    // `data` is the ASCII signing input; node:crypto encodes strings without an extra copy in JS.
    return cryptoVerify(spec.digest, data as unknown as Buffer, input, signature);
  } catch {
    return false;
  }
}
