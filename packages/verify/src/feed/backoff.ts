/**
 * Reconnection delays: exponential with jitter, capped.
 *
 * @module
 */

/** Reconnection delays of a source. */
export interface BackoffOptions {
  /** First delay in milliseconds. Default is 250. */
  readonly initialDelay?: number;
  /** Longest delay in milliseconds. Default is 15000 (15 seconds). */
  readonly maxDelay?: number;
}

/** Internal: validated backoff. `delay(attempt)` is `min(max, initial × 2^attempt)` scaled by a random factor in [0.5, 1]. */
export class Backoff {
  readonly initialDelay: number;
  readonly maxDelay: number;

  constructor(options: BackoffOptions = {}) {
    const initialDelay = options.initialDelay ?? 250;
    const maxDelay = options.maxDelay ?? 15_000;
    if (!Number.isFinite(initialDelay) || initialDelay <= 0) throw new TypeError('`backoff.initialDelay` must be a positive number of milliseconds');
    if (!Number.isFinite(maxDelay) || maxDelay < initialDelay) throw new TypeError('`backoff.maxDelay` must be a number of milliseconds no smaller than `initialDelay`');
    this.initialDelay = initialDelay;
    this.maxDelay = maxDelay;
  }

  delay(attempt: number): number {
    const base = Math.min(this.maxDelay, this.initialDelay * 2 ** Math.min(attempt, 30));
    return base * (0.5 + Math.random() / 2);
  }
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts. The timer does not keep the process alive. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal.addEventListener('abort', done, { once: true });
  });
}
