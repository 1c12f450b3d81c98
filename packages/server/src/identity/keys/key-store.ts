import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createVerifier, isVerifyError, type Algorithm, type SecretInput, type UncheckedClaims, type Verifier } from '@latchkey/verify';
import type { Database, Queryable } from '../../db/index.js';
import { badJwt, IdentityError } from '../errors.js';
import type { IdentitySettings } from '../settings.js';
import { createCompactSigner, type CompactSigner } from './compact-signer.js';
import { parseJwtKeys, publicJwk, type Jwk, type PrivateKeyDescription, type SigningAlgorithm } from './jwk.js';

/** Advisory lock key serialising key generation and rotation across processes. */
const KEYS_LOCK = 7_362_114_101;

/** The claims of a token this service verified: registered claims typed, present only if the token has them. */
export type VerifiedClaims = UncheckedClaims;

/** A row of `auth.signing_keys`. */
interface StoredKeyRow {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly private_jwk: Jwk;
  readonly public_jwk: Jwk;
  readonly retired_at: Date | null;
  readonly verify_until: Date | null;
}

/** Where the signing keys come from. */
export type KeySource = 'database' | 'environment';

/** Asymmetric algorithms a published key may be bound to (each key verifies only its own). */
const PUBLISHED_ALGORITHMS: readonly Algorithm[] = ['ES256', 'RS256', 'EdDSA'];

function generateStoredKey(): { kid: string; alg: SigningAlgorithm; privateJwk: Jwk; publicJwk: Jwk } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const privateJwk = privateKey.export({ format: 'jwk' }) as Jwk;
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
  const fresh = generateStoredKey();
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

/** Turns a verification failure into GoTrue's `bad_jwt` wording. */
function describeFailure(error: unknown): string {
  if (!isVerifyError(error)) return 'token is malformed: could not parse the token';
  switch (error.code) {
    case 'ERR_TOKEN_EXPIRED':
      return 'token has invalid claims: token is expired';
    case 'ERR_SIGNATURE_INVALID':
      return 'token signature is invalid: signature is invalid';
    case 'ERR_ALG_NOT_ALLOWED':
      return error.description === 'algorithm does not match the signing key'
        ? 'token is unverifiable: signing method does not match the key'
        : 'token is unverifiable: signing method is not allowed';
    case 'ERR_KEY_NOT_FOUND':
      return 'token is unverifiable: no matching key';
    case 'ERR_CLAIM_INVALID':
    case 'ERR_TOKEN_NOT_YET_VALID':
      return `token has invalid claims: ${error.description}`;
    default:
      return 'token is malformed: could not parse the token';
  }
}

/**
 * The keys the identity service signs with and accepts. Keys are imported once; the JWKS body is
 * serialised once per key change. Database-held keys are re-read every `keysReloadInterval` seconds
 * and when a token names an unknown `kid`, so a rotation made by another process is picked up.
 * Tokens are signed with `node:crypto` and verified with `@latchkey/verify` against the published
 * keys and the HS256 secrets.
 */
export class KeyStore {
  readonly source: KeySource;
  readonly #db: Database;
  #signing!: { readonly kid: string | undefined; readonly alg: SigningAlgorithm };
  #compactSign!: CompactSigner;
  /** Published (asymmetric) keys, as the JWKS lists them; replaced, never mutated, on a key change. */
  #published: readonly Jwk[] = [];
  /** `kid`s of every accepted key (published keys and configured secrets). */
  #kids: readonly string[] = [];
  #jwks = '{"keys":[]}';
  #verifier!: Verifier<UncheckedClaims>;
  #fingerprint = '';
  #lastReload = 0;
  #timer: NodeJS.Timeout | undefined;

  private constructor(db: Database, source: KeySource) {
    this.#db = db;
    this.source = source;
  }

  /**
   * Loads the keys the settings name: `LATCHKEY_JWT_KEYS` when set, otherwise the database (generating
   * the first ES256 key on first start). Throws `ConfigError` for malformed configured keys.
   */
  static async open(db: Database, settings: IdentitySettings): Promise<KeyStore> {
    const store = new KeyStore(db, settings.jwtKeys ? 'environment' : 'database');
    const configured = settings.jwtKeys ? parseJwtKeys(settings.jwtKeys.name, settings.jwtKeys.value) : null;
    // HMAC keys only come from configuration: the legacy secret (any `kid`) and `oct` keys (by `kid`).
    const secrets: SecretInput[] = [
      ...(settings.jwtSecret ? [{ secret: settings.jwtSecret }] : []),
      ...(configured ?? [])
        .filter((description) => description.alg === 'HS256')
        .map((description) => ({ secret: Buffer.from(description.privateJwk.k as string, 'base64url'), kid: description.kid })),
    ];
    if (configured) store.#install(configured, null);
    else store.#installRows(await ensureStoredKeys(db));
    store.#verifier = createVerifier({
      // The keys in force, rotations included; an unknown `kid` re-reads database keys first.
      keySet: { keys: () => store.#published, refresh: () => store.#reloadForUnknownKid() },
      ...(secrets.length > 0 ? { secret: secrets } : {}),
      algorithms: [...PUBLISHED_ALGORITHMS, ...(secrets.length > 0 ? (['HS256'] as const) : [])],
      // GoTrue's rules for its own tokens: any `iss` and `aud`, `exp` checked when present.
      issuer: null,
      audience: null,
      requireExpiry: false,
      checkIssuedAt: false,
    });
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
    if (rows.some((row) => row.retired_at === null)) this.#installRows(rows);
  }

  /** A token names a `kid` not published here: re-read database keys, at most once a second. */
  async #reloadForUnknownKid(): Promise<void> {
    if (this.source !== 'database' || Date.now() - this.#lastReload <= 1000) return;
    await this.reload();
  }

  #installRows(rows: readonly StoredKeyRow[]): void {
    const fingerprint = rows.map((row) => `${row.kid}:${row.retired_at ? 'r' : 'a'}`).join(',');
    if (fingerprint === this.#fingerprint) return;
    const descriptions = rows.map((row) => ({ kid: row.kid, alg: row.alg, privateJwk: row.private_jwk, signs: row.retired_at === null }));
    this.#install(descriptions, fingerprint);
  }

  #install(descriptions: readonly PrivateKeyDescription[], fingerprint: string | null): void {
    const signer = descriptions.find((description) => description.signs);
    if (!signer) throw new Error('no signing key');
    const compactSign = createCompactSigner(signer.alg, signer.privateJwk, signer.kid);
    const published = descriptions
      .filter((description) => description.alg !== 'HS256')
      .map((description) => publicJwk(description.privateJwk, description.kid, description.alg));
    this.#signing = { kid: signer.kid, alg: signer.alg };
    this.#compactSign = compactSign;
    this.#published = published;
    this.#kids = descriptions.map((description) => description.kid);
    this.#jwks = JSON.stringify({ keys: published });
    if (fingerprint !== null) this.#fingerprint = fingerprint;
  }

  /** `kid` and algorithm new tokens are signed with. */
  get signingKey(): { readonly kid: string | undefined; readonly alg: SigningAlgorithm } {
    return this.#signing;
  }

  /** Every `kid` currently accepted (published asymmetric keys and configured secrets). */
  get kids(): readonly string[] {
    return this.#kids;
  }


  /** The JWKS document (`{"keys":[…]}`), public keys only, serialised. */
  jwksJson(): string {
    return this.#jwks;
  }

  /** Signs `claims` with the current signing key, `kid` in the header. */
  async sign(claims: object): Promise<string> {
    return this.#compactSign(claims);
  }

  /**
   * Verifies a JWT's signature (by `kid`, or the HS256 secret) and its `exp` when present. Throws
   * `IdentityError` `bad_jwt` (403) otherwise. `aud` and `iss` are not checked, as in GoTrue.
   */
  async verify(token: string): Promise<VerifiedClaims> {
    try {
      return await this.#verifier.verify(token);
    } catch (error) {
      if (error instanceof IdentityError) throw error;
      throw badJwt(describeFailure(error));
    }
  }
}
