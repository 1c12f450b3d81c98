import { randomUUID } from 'node:crypto';
import { errors as joseErrors, exportJWK, generateKeyPair, importJWK, jwtVerify, type CryptoKey, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { Database, Queryable } from '../../db/index.js';
import { badJwt } from '../errors.js';
import type { IdentitySettings } from '../settings.js';
import { createCompactSigner, type CompactSigner } from './compact-signer.js';
import { parseJwtKeys, publicJwk, type PrivateKeyDescription, type SigningAlgorithm } from './jwk.js';

/** Advisory lock key serialising key generation and rotation across processes. */
const KEYS_LOCK = 7_362_114_101;

type KeyMaterial = CryptoKey | Uint8Array;

interface ImportedKey {
  readonly kid: string | undefined;
  readonly alg: SigningAlgorithm;
  readonly key: KeyMaterial;
}

/** A row of `auth.signing_keys`. */
interface StoredKeyRow {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly private_jwk: JWK;
  readonly public_jwk: JWK;
  readonly retired_at: Date | null;
  readonly verify_until: Date | null;
}

/** Where the signing keys come from. */
export type KeySource = 'database' | 'environment';

async function generateStoredKey(): Promise<{ kid: string; alg: SigningAlgorithm; privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const privateJwk = await exportJWK(privateKey);
  return { kid, alg: 'ES256', privateJwk: { ...privateJwk, kid, alg: 'ES256' }, publicJwk: publicJwk(privateJwk, kid, 'ES256') };
}

async function readActiveRows(db: Queryable): Promise<StoredKeyRow[]> {
  const { rows } = await db.query<StoredKeyRow & Record<string, unknown>>(
    `select kid, alg, private_jwk, public_jwk, retired_at, verify_until
       from auth.signing_keys
      where retired_at is null or verify_until is null or verify_until > now()
      order by created_at`,
  );
  return rows;
}

/**
 * Returns the stored signing keys, generating the first ES256 key when there is none. Safe when
 * several processes start together: generation runs under an advisory lock.
 */
async function ensureStoredKeys(db: Database): Promise<StoredKeyRow[]> {
  const rows = await readActiveRows(db);
  if (rows.some((row) => row.retired_at === null)) return rows;
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [KEYS_LOCK]);
    const again = await readActiveRows(tx);
    if (again.some((row) => row.retired_at === null)) return again;
    await insertFreshKey(tx);
    return readActiveRows(tx);
  });
}

/** Generates a new ES256 signing key and stores it as the active one (inside the caller's locked transaction). */
async function insertFreshKey(tx: Queryable): Promise<{ kid: string }> {
  const fresh = await generateStoredKey();
  await tx.query('insert into auth.signing_keys (kid, alg, private_jwk, public_jwk) values ($1, $2, $3, $4)', [
    fresh.kid,
    fresh.alg,
    JSON.stringify(fresh.privateJwk),
    JSON.stringify(fresh.publicJwk),
  ]);
  return fresh;
}

/** What {@link rotateSigningKey} did. */
export interface RotationResult {
  /** The new signing key. */
  readonly kid: string;
  /** The key it replaced, still published until `verifyUntil`. */
  readonly retiredKid: string | null;
  readonly verifyUntil: Date | null;
}

/**
 * Adds a new ES256 signing key and retires the current one. The retired key stays in the JWKS until
 * every token it signed has expired: access tokens (`jwtExpiry` seconds) and, when it signed the
 * persisted API keys, those too.
 */
export async function rotateSigningKey(db: Database, settings: Pick<IdentitySettings, 'jwtExpiry'>): Promise<RotationResult> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [KEYS_LOCK]);
    const current = await tx.query<{ kid: string }>('select kid from auth.signing_keys where retired_at is null for update');
    const retiredKid = current.rows[0]?.kid ?? null;
    let verifyUntil: Date | null = null;
    if (retiredKid) {
      const apiKeys = await tx.query<{ value: { kid?: string; exp?: number } }>(`select value from latchkey.settings where key = 'identity.api_keys'`);
      const stored = apiKeys.rows[0]?.value;
      const tokensUntil = Date.now() + settings.jwtExpiry * 1000;
      const apiKeysUntil = stored?.kid === retiredKid && typeof stored.exp === 'number' ? stored.exp * 1000 : 0;
      verifyUntil = new Date(Math.max(tokensUntil, apiKeysUntil));
      await tx.query('update auth.signing_keys set retired_at = now(), verify_until = $2 where kid = $1', [retiredKid, verifyUntil]);
    }
    const fresh = await insertFreshKey(tx);
    return { kid: fresh.kid, retiredKid, verifyUntil };
  });
}

const EXPIRED_DETAIL = 'token has invalid claims: token is expired';

/** Turns a jose verification failure into GoTrue's `bad_jwt` wording. */
function describeJoseFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return EXPIRED_DETAIL;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature is invalid: signature is invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'token is unverifiable: signing method is not allowed';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'token is unverifiable: no matching key';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `token has invalid claims: ${error.message}`;
  return 'token is malformed: could not parse the token';
}

/**
 * The keys the identity service signs with and accepts. Keys are imported once; the JWKS body is
 * serialised once per key change. Database-held keys are re-read every `keysReloadInterval` seconds
 * and when a token names an unknown `kid`, so a rotation made by another process is picked up.
 */
export class KeyStore {
  readonly source: KeySource;
  readonly #db: Database;
  #signer!: ImportedKey;
  #compactSign!: CompactSigner;
  #verifiers = new Map<string, ImportedKey>();
  #secret: ImportedKey | null = null;
  #jwks = '{"keys":[]}';
  #algorithms: SigningAlgorithm[] = [];
  #fingerprint = '';
  #lastReload = 0;
  #timer: NodeJS.Timeout | undefined;

  private constructor(db: Database, settings: IdentitySettings, source: KeySource) {
    this.#db = db;
    this.source = source;
  }

  /**
   * Loads the keys the settings name: `LATCHKEY_JWT_KEYS` when set, otherwise the database (generating
   * the first ES256 key on first start). Throws `ConfigError` for malformed configured keys.
   */
  static async open(db: Database, settings: IdentitySettings): Promise<KeyStore> {
    const store = new KeyStore(db, settings, settings.jwtKeys ? 'environment' : 'database');
    if (settings.jwtSecret) {
      store.#secret = { kid: settings.jwtSecretKeyId ?? undefined, alg: 'HS256', key: new TextEncoder().encode(settings.jwtSecret) };
    }
    if (settings.jwtKeys) {
      await store.#install(parseJwtKeys(settings.jwtKeys.name, settings.jwtKeys.value), null);
    } else {
      await store.#installRows(await ensureStoredKeys(db));
    }
    return store;
  }

  /** Re-reads database keys every `intervalSeconds`; no-op for configured keys. */
  startReloading(intervalSeconds: number): void {
    if (this.source !== 'database' || this.#timer) return;
    this.#timer = setInterval(() => {
      void this.reload().catch(() => undefined);
    }, intervalSeconds * 1000);
    this.#timer.unref();
  }

  stopReloading(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Re-reads database-held keys now (for example right after a rotation). */
  async reload(): Promise<void> {
    if (this.source !== 'database') return;
    this.#lastReload = Date.now();
    const rows = await readActiveRows(this.#db);
    if (rows.some((row) => row.retired_at === null)) await this.#installRows(rows);
  }

  async #installRows(rows: readonly StoredKeyRow[]): Promise<void> {
    const fingerprint = rows.map((row) => `${row.kid}:${row.retired_at ? 'r' : 'a'}`).join(',');
    if (fingerprint === this.#fingerprint) return;
    const descriptions = rows.map((row) => ({ kid: row.kid, alg: row.alg, privateJwk: row.private_jwk, signs: row.retired_at === null }));
    await this.#install(descriptions, fingerprint);
  }

  async #install(descriptions: readonly PrivateKeyDescription[], fingerprint: string | null): Promise<void> {
    const verifiers = new Map<string, ImportedKey>();
    let signer: ImportedKey | undefined;
    let fastSigner: CompactSigner | undefined;
    const published: JWK[] = [];
    for (const description of descriptions) {
      const isSecret = description.alg === 'HS256';
      // Declared key_ops / use describe the pair; WebCrypto refuses "verify" on a private key.
      const { key_ops: _ops, use: _use, ext: _ext, ...material } = description.privateJwk;
      const privateKey = await importJWK(material, description.alg);
      if (description.signs) {
        signer = { kid: description.kid, alg: description.alg, key: privateKey };
        fastSigner = createCompactSigner(description.alg, description.privateJwk, description.kid);
      }
      if (isSecret) {
        verifiers.set(description.kid, { kid: description.kid, alg: 'HS256', key: privateKey });
      } else {
        const pub = publicJwk(description.privateJwk, description.kid, description.alg);
        verifiers.set(description.kid, { kid: description.kid, alg: description.alg, key: await importJWK(pub, description.alg) });
        published.push(pub);
      }
    }
    if (!signer || !fastSigner) throw new Error('no signing key');
    this.#signer = signer;
    this.#compactSign = fastSigner;
    this.#verifiers = verifiers;
    this.#jwks = JSON.stringify({ keys: published });
    const algorithms = new Set<SigningAlgorithm>([...verifiers.values()].map((key) => key.alg));
    if (this.#secret) algorithms.add('HS256');
    this.#algorithms = [...algorithms];
    if (fingerprint !== null) this.#fingerprint = fingerprint;
  }

  /** `kid` and algorithm new tokens are signed with. */
  get signingKey(): { readonly kid: string | undefined; readonly alg: SigningAlgorithm } {
    return { kid: this.#signer.kid, alg: this.#signer.alg };
  }

  /** Every `kid` currently accepted (published asymmetric keys and configured secrets). */
  get kids(): readonly string[] {
    return [...this.#verifiers.keys()];
  }

  /** The JWKS document (`{"keys":[…]}`), public keys only, serialised. */
  jwksJson(): string {
    return this.#jwks;
  }

  /** Signs `claims` with the current signing key, `kid` in the header. */
  async sign(claims: JWTPayload): Promise<string> {
    return this.#compactSign(claims);
  }

  async #keyFor(header: JWTHeaderParameters): Promise<KeyMaterial> {
    const kid = header.kid;
    if (kid !== undefined) {
      let found = this.#verifiers.get(kid);
      if (!found && this.source === 'database' && header.alg !== 'HS256' && Date.now() - this.#lastReload > 1000) {
        await this.reload().catch(() => undefined);
        found = this.#verifiers.get(kid);
      }
      if (found) {
        if (found.alg !== header.alg) throw badJwt('token is unverifiable: signing method does not match the key');
        return found.key;
      }
    }
    if (header.alg === 'HS256' && this.#secret && (kid === undefined || kid === this.#secret.kid || !this.#verifiers.has(kid))) return this.#secret.key;
    throw badJwt('token is unverifiable: no matching key');
  }

  /**
   * Verifies a JWT's signature (by `kid`, or the HS256 secret) and its `exp` when present. Throws
   * `IdentityError` `bad_jwt` (403) otherwise. `aud` and `iss` are not checked, as in GoTrue.
   */
  async verify(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, (header) => this.#keyFor(header), { algorithms: this.#algorithms });
      return payload;
    } catch (error) {
      if (error instanceof Error && error.name === 'IdentityError') throw error;
      throw badJwt(describeJoseFailure(error));
    }
  }
}
