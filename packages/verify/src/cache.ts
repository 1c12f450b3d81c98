/**
 * A bounded cache of verified tokens, keyed by a SHA-256 hash of the token (the token itself is never
 * stored), each entry living at most until the token's `exp`.
 *
 * @module
 */
import { hash } from 'node:crypto';
import type { Claims } from './jwt/claims.js';

/** Options of the verified-token cache. */
export interface TokenCacheOptions {
  /** Maximum number of entries; the oldest entry is evicted first. Default is 1000. */
  readonly max?: number;
  /** Maximum lifetime of an entry in milliseconds, further capped at the token's `exp`. Default is 600000 (10 minutes). */
  readonly ttl?: number;
}

interface Entry {
  readonly claims: Claims;
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

  /** Hash used as the key. */
  static key(token: string): string {
    return hash('sha256', token, 'base64');
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string, now: number): Claims | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.claims;
  }

  /** Stores claims until `min(now + ttl, expMs)`. */
  set(key: string, claims: Claims, now: number, expMs: number): void {
    const expiresAt = Math.min(now + this.#ttl, expMs);
    if (expiresAt <= now) return;
    if (this.#entries.size >= this.#max && !this.#entries.has(key)) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { claims, expiresAt });
  }

  clear(): void {
    this.#entries.clear();
  }
}
