/** Longest wait between two reconnect attempts to Redis, in milliseconds. */
export const MAX_RECONNECT_DELAY_MS = 200;

/**
 * Milliseconds before reconnect attempt `times`: 25 ms more each time, at most
 * {@link MAX_RECONNECT_DELAY_MS} (ioredis's default grows to 2 s), so a node is connected again within
 * about 0.2 s of Redis coming back and publications resume well within a second. An attempt against a
 * Redis that refuses connections costs a refused TCP connect, so the short cap costs little while it is away.
 */
export function reconnectDelay(times: number): number {
  return Math.min(times * 25, MAX_RECONNECT_DELAY_MS);
}
