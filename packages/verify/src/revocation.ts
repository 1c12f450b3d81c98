/**
 * Revocation: a hook the verifier calls after a token verified, and an in-memory deny-list of
 * session ids (or any other claim) to plug into it.
 *
 * @module
 */
import type { Claims } from './jwt/claims.js';

/**
 * Returns `true` when the token must be refused as revoked. May be asynchronous (database, Redis). A
 * `VerifyError` it throws is the verification's failure (the revocation feed throws
 * `ERR_REVOCATION_FEED_STALE` when it must fail closed).
 */
export type RevocationCheck = (claims: Claims) => boolean | Promise<boolean>;

/** An in-memory deny-list keyed by one claim. */
export interface DenyList {
  /** Denies tokens whose claim equals `value`, until `untilMs` (ms since epoch; default: forever). */
  add(value: string, untilMs?: number): void;
  /** Lifts the denial of `value`. */
  delete(value: string): void;
  /** `true` when `value` is currently denied. */
  has(value: string): boolean;
  /** The check to pass as the verifier's `revocation` option. */
  readonly check: RevocationCheck;
  readonly size: number;
}

/**
 * Creates a deny-list of claim values (default claim `session_id`): sign-out of a session revokes its
 * access tokens before they expire.
 *
 * @example
 * ```ts
 * const denied = createDenyList();
 * const verifier = createVerifier({ ..., revocation: denied.check });
 * denied.add(claims.session_id, claims.exp * 1000);
 * ```
 */
export function createDenyList(options: { claim?: string; max?: number; now?: () => number } = {}): DenyList {
  const claim = options.claim ?? 'session_id';
  const max = options.max ?? 100_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, number>();
  const has = (value: string): boolean => {
    const until = entries.get(value);
    if (until === undefined) return false;
    if (now() >= until) {
      entries.delete(value);
      return false;
    }
    return true;
  };
  return {
    add(value, untilMs = Number.POSITIVE_INFINITY) {
      if (entries.size >= max && !entries.has(value)) {
        for (const [key, until] of entries) if (now() >= until) entries.delete(key);
        if (entries.size >= max) {
          const oldest = entries.keys().next();
          if (!oldest.done) entries.delete(oldest.value);
        }
      }
      entries.set(value, untilMs);
    },
    delete(value) {
      entries.delete(value);
    },
    has,
    check(claims) {
      const value = claims[claim];
      return typeof value === 'string' && has(value);
    },
    get size() {
      return entries.size;
    },
  };
}
