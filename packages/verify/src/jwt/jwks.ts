/**
 * A remote JSON Web Key Set with caching, a cooldown on refetches for unknown `kid`s, a maximum age,
 * and stale-if-error: while the endpoint fails, the last good set keeps serving for a bounded time,
 * then verification fails closed with {@link JwksUnavailableError}.
 *
 * @module
 */
import { JwksUnavailableError } from '../errors.js';
import type { Algorithm } from './algorithms.js';
import { importJwksMember, type VerificationKey } from './keys.js';

/** Timing and transport of the key-set cache. Durations in milliseconds. */
export interface JwksOptions {
  /** Abort a fetch after this long. Default is 5000 (5 seconds). */
  readonly timeout?: number;
  /** After a fetch, an unknown `kid` does not trigger another one for this long. Default is 30000 (30 seconds). */
  readonly cooldown?: number;
  /** Refetch a set older than this before using it. Default is 600000 (10 minutes). */
  readonly maxAge?: number;
  /**
   * How long past `maxAge` the last good set keeps serving while fetches fail. Default is 3600000
   * (1 hour); `0` fails closed as soon as the set is past `maxAge` and a refetch fails.
   */
  readonly staleIfError?: number;
  /** Extra request headers (for example a user agent). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Fetch implementation. Default is the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/** Observable state of the cache; read it for health checks and metrics. */
export interface JwksState {
  /** A set is loaded and younger than `maxAge`. */
  readonly fresh: boolean;
  /** A set is loaded but past `maxAge`; it serves only while within `staleIfError`. */
  readonly stale: boolean;
  /** An unknown `kid` would not trigger a fetch right now. */
  readonly coolingDown: boolean;
  /** A fetch is in flight. */
  readonly reloading: boolean;
  /** When the current set was fetched (ms since epoch), or `undefined`. */
  readonly fetchedAt: number | undefined;
  /** Number of fetches attempted so far. */
  readonly fetches: number;
  /** The last fetch failure, cleared by the next success. */
  readonly lastError: Error | undefined;
  /** Fetches the set now (shares a fetch in flight). Rejects with {@link JwksUnavailableError}. */
  reload(): Promise<void>;
}

interface LoadedSet {
  readonly byKid: ReadonlyMap<string, VerificationKey[]>;
  readonly all: readonly VerificationKey[];
  readonly fetchedAt: number;
}

/** Internal key source used by the verifier. */
export class RemoteJwks implements JwksState {
  readonly #url: URL;
  readonly #allowed: readonly Algorithm[];
  readonly #timeout: number;
  readonly #cooldown: number;
  readonly #maxAge: number;
  readonly #staleIfError: number;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  #set: LoadedSet | undefined;
  #pending: Promise<void> | undefined;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #fetches = 0;
  #lastError: Error | undefined;

  constructor(url: string | URL, allowed: readonly Algorithm[], options: JwksOptions, now: () => number) {
    this.#url = new URL(url);
    if (this.#url.protocol !== 'https:' && this.#url.protocol !== 'http:') throw new TypeError('`jwksUrl` must be an http(s) URL');
    this.#allowed = allowed;
    this.#timeout = duration(options.timeout, 5_000, 'jwks.timeout');
    this.#cooldown = duration(options.cooldown, 30_000, 'jwks.cooldown');
    this.#maxAge = duration(options.maxAge, 600_000, 'jwks.maxAge');
    this.#staleIfError = duration(options.staleIfError, 3_600_000, 'jwks.staleIfError');
    this.#headers = { accept: 'application/json, application/jwk-set+json', ...options.headers };
    this.#fetch = options.fetch ?? fetch;
    this.#now = now;
  }

  get fresh(): boolean {
    return this.#set !== undefined && this.#now() - this.#set.fetchedAt < this.#maxAge;
  }
  get stale(): boolean {
    return this.#set !== undefined && !this.fresh;
  }
  get coolingDown(): boolean {
    return this.#now() - this.#lastAttemptAt < this.#cooldown;
  }
  get reloading(): boolean {
    return this.#pending !== undefined;
  }
  get fetchedAt(): number | undefined {
    return this.#set?.fetchedAt;
  }
  get fetches(): number {
    return this.#fetches;
  }
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Keys for `kid` (or all keys when `kid` is undefined) from the current set, if it is fresh; no I/O. */
  peek(kid: string | undefined): readonly VerificationKey[] | undefined {
    const set = this.#set;
    if (!set || this.#now() - set.fetchedAt >= this.#maxAge) return undefined;
    return kid === undefined ? set.all : set.byKid.get(kid);
  }

  /**
   * Keys for `kid`, fetching when the set is missing or past `maxAge`, and once more (outside the
   * cooldown) when `kid` is unknown. Resolves to `[]` when no key matches.
   */
  async lookup(kid: string | undefined): Promise<readonly VerificationKey[]> {
    let set = await this.#usableSet();
    let found = kid === undefined ? set.all : set.byKid.get(kid);
    if (found === undefined || found.length === 0) {
      // Join a fetch already in flight; otherwise start one unless inside the cooldown.
      const pending = this.#pending ?? (this.coolingDown ? undefined : this.reload());
      if (pending) {
        try {
          await pending;
        } catch {
          // The current set stays in force; the key is simply unknown.
        }
        set = this.#set ?? set;
        found = kid === undefined ? set.all : set.byKid.get(kid);
      }
    }
    return found ?? [];
  }

  async #usableSet(): Promise<LoadedSet> {
    const current = this.#set;
    const now = this.#now();
    if (current && now - current.fetchedAt < this.#maxAge) return current;
    try {
      const sinceFailure = now - this.#lastAttemptAt;
      if (this.#lastError && !this.#pending && sinceFailure < this.#failureBackoff) {
        // The endpoint failed moments ago: do not hammer it on every request.
        throw new JwksUnavailableError(Math.max(1, Math.ceil((this.#failureBackoff - sinceFailure) / 1000)), this.#lastError);
      }
      await this.reload();
    } catch (error) {
      const fallback = this.#set;
      if (fallback && this.#now() - fallback.fetchedAt < this.#maxAge + this.#staleIfError) return fallback;
      throw error;
    }
    const loaded = this.#set;
    if (!loaded) throw new JwksUnavailableError(1);
    return loaded;
  }

  /** After a failed fetch, requests that need a fresh set wait this long before fetching again. */
  get #failureBackoff(): number {
    return Math.min(this.#cooldown, 5_000);
  }

  reload(): Promise<void> {
    this.#pending ??= this.#fetchSet().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #fetchSet(): Promise<void> {
    this.#lastAttemptAt = this.#now();
    this.#fetches += 1;
    try {
      const response = await this.#fetch(this.#url, {
        headers: this.#headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeout),
      });
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw new Error(`key set endpoint answered ${response.status}`);
      }
      const body: unknown = await response.json();
      const members = typeof body === 'object' && body !== null ? (body as { keys?: unknown }).keys : undefined;
      if (!Array.isArray(members)) throw new Error('key set response has no "keys" array');
      const all: VerificationKey[] = [];
      const byKid = new Map<string, VerificationKey[]>();
      for (const member of members) {
        const key = importJwksMember(member, this.#allowed);
        if (!key) continue;
        all.push(key);
        if (key.kid !== undefined) {
          const list = byKid.get(key.kid);
          if (list) list.push(key);
          else byKid.set(key.kid, [key]);
        }
      }
      this.#set = { all, byKid, fetchedAt: this.#now() };
      this.#lastAttemptAt = this.#now();
      this.#lastError = undefined;
    } catch (error) {
      this.#lastAttemptAt = this.#now();
      this.#lastError = error instanceof Error ? error : new Error(String(error));
      throw new JwksUnavailableError(Math.max(1, Math.ceil(this.#failureBackoff / 1000)), error);
    }
  }
}

/** Validates an optional duration option (ms), eagerly, with a `TypeError`. */
export function duration(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`\`${name}\` must be a non-negative number of milliseconds`);
  return value;
}
