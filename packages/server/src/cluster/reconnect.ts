/**
 * Milliseconds before reconnect attempt `times`: 50 ms more each time, at most 500 ms (ioredis's default
 * grows to 2 s), so publications resume within about half a second of Redis coming back.
 */
export function reconnectDelay(times: number): number {
  return Math.min(times * 50, 500);
}
