import { createHash } from 'node:crypto';
import type { Database } from '../db/index.js';
import { deleteCountersBefore, lockCounters, takeBackAttempt, writeCounters } from './store/login-failures.js';
import { RateLimitedError } from './errors.js';

/** The rules of {@link LoginThrottle}; durations in seconds. */
export interface LoginThrottleSettings {
  /** Failures of one account, from any address, before each further attempt from a failing address waits; 0 = off. */
  readonly loginAccountFailures: number;
  /** Failures from one address, for any account, before each further attempt from it waits; 0 = off. */
  readonly loginAddressFailures: number;
  /** Wait after the failure that reaches a threshold; doubles with each further failure. */
  readonly loginDelay: number;
  /** Longest wait. */
  readonly loginMaxDelay: number;
  /** Failures are forgotten this long after the last one. */
  readonly loginFailureWindow: number;
}

/** An attempt allowed by {@link LoginThrottle.begin}: counted as a failure until {@link LoginAttempt.succeeded}. */
export interface LoginAttempt {
  /** The password was right: takes the attempt back and clears the address's failures for the account. */
  succeeded(): Promise<void>;
}

type Kind = 'account' | 'address' | 'pair';

function keyOf(kind: Kind, value: string): string {
  return createHash('sha256').update(`${kind}\0${value}`).digest('base64url');
}

/**
 * Failed password logins, counted in the database so every node sees the same counts (table
 * `auth.login_failures`; keys are SHA-256 digests, so neither addresses nor e-mails of unknown accounts
 * are stored).
 *
 * - **Per account, across addresses.** Once an account has `loginAccountFailures` failures, each
 *   further attempt waits `loginDelay · 2^(failures − threshold)` seconds (at most `loginMaxDelay`)
 *   after the last failure — but only from addresses that have failed for this account. An address that
 *   has not failed still gets its attempt, so the account's owner signs in while it is under attack.
 * - **Per address, across accounts.** The same progressive delay after `loginAddressFailures` failures.
 *
 * An attempt is counted before the password is compared (rows locked in a short transaction) and taken
 * back when it succeeds, so concurrent guesses cannot slip past the counters. A refused attempt is not
 * counted and costs no password comparison: 429 `over_request_rate_limit` with `Retry-After`. The
 * address is never what makes unknown and known accounts differ: both are counted alike.
 */
export class LoginThrottle {
  readonly #db: Database;
  readonly #settings: LoginThrottleSettings;
  readonly #now: () => number;

  constructor(db: Database, settings: LoginThrottleSettings, now: () => number = Date.now) {
    this.#db = db;
    this.#settings = settings;
    this.#now = now;
  }

  /** Whether either limit is on. */
  get enabled(): boolean {
    return this.#settings.loginAccountFailures > 0 || this.#settings.loginAddressFailures > 0;
  }

  #threshold(kind: Kind): number {
    if (kind === 'account') return this.#settings.loginAccountFailures;
    if (kind === 'address') return this.#settings.loginAddressFailures;
    return 0;
  }

  /** Seconds to wait after the failure numbered `failures` (0 below the threshold). */
  #delay(kind: Kind, failures: number): number {
    const threshold = this.#threshold(kind);
    if (threshold === 0 || failures < threshold) return 0;
    return Math.min(this.#settings.loginMaxDelay, this.#settings.loginDelay * 2 ** (failures - threshold));
  }

  /**
   * Checks and counts one password attempt for `account` (the normalised e-mail or phone as typed, known
   * or not) from `address`. Throws {@link RateLimitedError} when the attempt must wait.
   */
  async begin(account: string, address: string): Promise<LoginAttempt> {
    if (!this.enabled) return { succeeded: async () => undefined };
    const keys: Record<Kind, string> = { account: keyOf('account', account), address: keyOf('address', address), pair: keyOf('pair', `${account}\0${address}`) };
    const now = this.#now();
    const windowStart = now - this.#settings.loginFailureWindow * 1000;
    await this.#db.transaction(async (tx) => {
      const rows = await lockCounters(tx, Object.values(keys), new Date(now));
      const live = (kind: Kind) => {
        const row = rows.get(keys[kind]);
        return row && row.last_failure_at.getTime() >= windowStart ? row : null;
      };
      const blockedUntil = (kind: Kind) => live(kind)?.blocked_until?.getTime() ?? 0;
      let wait = blockedUntil('address');
      if ((live('pair')?.failures ?? 0) > 0) wait = Math.max(wait, blockedUntil('account'));
      if (wait > now) throw new RateLimitedError((wait - now) / 1000);
      const kinds = ['account', 'address', 'pair'] as const;
      const failures = kinds.map((kind) => (live(kind)?.failures ?? 0) + 1);
      const blocked = kinds.map((kind, index) => {
        const delay = this.#delay(kind, failures[index]!);
        return delay > 0 ? new Date(now + delay * 1000).toISOString() : null;
      });
      await writeCounters(tx, kinds.map((kind, index) => ({ key: keys[kind], failures: failures[index]!, blockedUntil: blocked[index] ?? null })), new Date(now));
    });
    return {
      succeeded: async () => {
        // One statement: forget this address's failures for the account, take the attempt back from the
        // account and address counts, and lift a wait the attempt itself set below a threshold.
        await takeBackAttempt(this.#db, keys, this.#threshold('account'), this.#threshold('address'));
      },
    };
  }

  /** Deletes counters whose last failure is older than the window. */
  async sweep(): Promise<void> {
    await deleteCountersBefore(this.#db, new Date(this.#now() - this.#settings.loginFailureWindow * 1000));
  }
}
