/**
 * An in-process key set: keys the application holds itself (an issuer verifying its own tokens, or a
 * resource server running in the issuer's process) that may change at run time, for example on key
 * rotation. No HTTP, no cache ageing: the set in force is the one the application hands over.
 *
 * @module
 */
import type { Algorithm } from './algorithms.js';
import { importConfiguredKey, type KeyInput, type VerificationKey } from './keys.js';

/**
 * Keys held in this process, given to {@link createVerifier} as `keySet`.
 *
 * @example
 * ```ts
 * let current = { keys: [publicJwk] };
 * const verifier = createVerifier({
 *   keySet: { keys: () => current },
 *   issuer: 'https://id.example.com/auth/v1',
 *   audience: 'authenticated',
 * });
 * current = { keys: [newPublicJwk, publicJwk] }; // a rotation: the next verification imports the new set
 * ```
 */
export interface KeySet {
  /**
   * The keys in force now: JWKs (private members are ignored; `oct` keys are skipped, secrets belong in
   * `secret`), or `{ key: KeyObject | PEM, kid?, alg? }`. Called whenever a verification needs a key;
   * return the same object while the keys are unchanged: the verifier imports a set once, when it first
   * sees that object. Members that cannot verify any allowed algorithm are skipped.
   */
  keys(): readonly KeyInput[] | { readonly keys: readonly KeyInput[] };
  /**
   * Called when a token names a `kid` the current set lacks, before the token is refused; resolve
   * once the set may hold it (for example after re-reading keys rotated by another process). Called
   * for every such token, so throttle it yourself. A rejection counts as "no new key". Optional.
   */
  refresh?(kid: string | undefined): Promise<void>;
}

/** The verifier's view of a {@link KeySet}: imported keys, re-imported when the set object changes. */
export class LocalKeys {
  readonly #source: KeySet;
  readonly #allowed: readonly Algorithm[];
  #seen: unknown;
  #all: readonly VerificationKey[] = [];
  #byKid: ReadonlyMap<string, VerificationKey[]> = new Map();

  constructor(source: KeySet, allowed: readonly Algorithm[]) {
    if (typeof source !== 'object' || source === null || typeof source.keys !== 'function') throw new TypeError('`keySet` must have a `keys()` function');
    if (source.refresh !== undefined && typeof source.refresh !== 'function') throw new TypeError('`keySet.refresh` must be a function');
    this.#source = source;
    this.#allowed = allowed;
  }

  /** Whether an unknown `kid` can be looked up again (the set has `refresh`). */
  get refreshable(): boolean {
    return this.#source.refresh !== undefined;
  }

  /** Keys for `kid` (every key when `kid` is undefined) in the current set; no I/O. */
  find(kid: string | undefined): readonly VerificationKey[] {
    const input = this.#source.keys();
    if (input !== this.#seen) this.#import(input);
    return kid === undefined ? this.#all : (this.#byKid.get(kid) ?? []);
  }

  /** Asks the set for `kid` once more, then looks it up. */
  async refresh(kid: string | undefined): Promise<readonly VerificationKey[]> {
    try {
      await this.#source.refresh?.(kid);
    } catch {
      // The set in force stays; the key is simply unknown.
    }
    return this.find(kid);
  }

  #import(input: readonly KeyInput[] | { readonly keys: readonly KeyInput[] }): void {
    const members = Array.isArray(input) ? input : (input as { readonly keys?: unknown }).keys;
    if (!Array.isArray(members)) throw new TypeError('`keySet.keys()` must return an array of keys or a JWK Set');
    const all: VerificationKey[] = [];
    const byKid = new Map<string, VerificationKey[]>();
    for (const member of members as readonly KeyInput[]) {
      let key: VerificationKey;
      try {
        key = importConfiguredKey(member, this.#allowed);
      } catch {
        continue;
      }
      all.push(key);
      if (key.kid === undefined) continue;
      const entries = byKid.get(key.kid);
      if (entries) entries.push(key);
      else byKid.set(key.kid, [key]);
    }
    this.#all = all;
    this.#byKid = byKid;
    this.#seen = input;
  }
}
