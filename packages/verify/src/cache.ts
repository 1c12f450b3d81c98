/**
 * A bounded cache of verified tokens. The token itself is never stored: an entry is found by a
 * SHA-256 hash of the token's signature segment and holds the signed part (`header.payload`, which
 * is not a credential without its signature), so a hit is an exact match of the whole token while
 * hashing only its last ~86 characters. Each entry lives at most until the token's `exp`.
 *
 * @module
 */
import { hash } from 'node:crypto';
import type { UncheckedClaims } from './jwt/claims.js';

/** Options of the verified-token cache. */
export interface TokenCacheOptions {
  /** Maximum number of entries; the oldest entry is evicted first. Default is 1000. */
  readonly max?: number;
  /** Maximum lifetime of an entry in milliseconds, further capped at the token's `exp`. Default is 600000 (10 minutes). */
  readonly ttl?: number;
}

interface Entry {
  /** `header.payload` of the verified token. */
  readonly signed: string;
  readonly claims: UncheckedClaims;
  readonly expiresAt: number;
}

/** Internal: the cache used by the verifier. */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #ttl: number;

  constructor(options: TokenCacheOptions) {
    const max = options.max ?? 1000;
    const ttl = options.ttl ?? 600_000;
    if (!Number.isInteger(max) || max < 1) throw new TypeError('`cache.max` must be a positive integer');
    if (!Number.isFinite(ttl) || ttl <= 0) throw new TypeError('`cache.ttl` must be a positive number of milliseconds');
    this.#max = max;
    this.#ttl = ttl;
  }

  /**
   * The lookup key of `token`: a hash of everything after its last dot (the signature), or
   * `undefined` for a string that cannot be a compact JWS.
   */
  static key(token: string): string | undefined {
    const dot = token.lastIndexOf('.');
    return dot < 1 ? undefined : hash('sha256', token.slice(dot + 1), 'binary');
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The claims cached for exactly `token` (whose {@link TokenCache.key} is `key`), if still valid at `now`. */
  get(key: string, token: string, now: number): UncheckedClaims | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    // The whole token must match: the key covers everything after the last dot, and what precedes
    // that dot must be the verified signed part (string equality compares whole blocks of memory).
    const signed = entry.signed;
    if (token.lastIndexOf('.') !== signed.length || token.slice(0, signed.length) !== signed) return undefined;
    return entry.claims;
  }

  /** Stores the claims of the token `signed.signature` (key from {@link TokenCache.key}) until `min(now + ttl, expMs)`. */
  set(key: string, signed: string, claims: UncheckedClaims, now: number, expMs: number): void {
    const expiresAt = Math.min(now + this.#ttl, expMs);
    if (expiresAt <= now) return;
    if (this.#entries.size >= this.#max && !this.#entries.has(key)) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { signed, claims, expiresAt });
  }

  clear(): void {
    this.#entries.clear();
  }
}
