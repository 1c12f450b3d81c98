/**
 * In-process token buckets keyed by client address or session. Each process counts on its own, so
 * with N identity processes the effective limit is up to N times the configured one.
 */
export class RateLimiter {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #sweptAt = Date.now();

  /**
   * @param perFiveMinutes sustained rate; 0 turns the limiter off.
   * @param burst requests allowed at once before the sustained rate applies.
   */
  constructor(perFiveMinutes: number, burst: number) {
    if (!Number.isFinite(perFiveMinutes) || perFiveMinutes < 0) throw new TypeError('perFiveMinutes must be a non-negative number');
    if (!Number.isFinite(burst) || burst < 1) throw new TypeError('burst must be at least 1');
    this.#capacity = perFiveMinutes === 0 ? Infinity : Math.max(burst, 1);
    this.#perMs = perFiveMinutes / 300_000;
  }

  /** Takes one request from `key`'s bucket; false when the bucket is empty. */
  take(key: string, now = Date.now()): boolean {
    if (this.#capacity === Infinity) return true;
    if (now - this.#sweptAt > 60_000) this.#sweep(now);
    const bucket = this.#buckets.get(key);
    if (!bucket) {
      this.#buckets.set(key, { tokens: this.#capacity - 1, at: now });
      return true;
    }
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Whether `key`'s bucket holds a request now; takes nothing (for callers that charge only failures). */
  allows(key: string, now = Date.now()): boolean {
    if (this.#capacity === Infinity) return true;
    const bucket = this.#buckets.get(key);
    return !bucket || Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs) >= 1;
  }

  /** Drops buckets that have refilled completely; they hold no information. */
  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * this.#perMs >= this.#capacity) this.#buckets.delete(key);
    }
  }
}
