import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { createHttpClient, LatchkeyApi, type Clock } from '@latchkey/client';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { email, PASSWORD, startStack, type Stack } from './support.js';

describeEachDatabase('a simulated day of calls with 1-hour tokens', (database) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(database(), { env: { LATCHKEY_JWT_EXPIRY: '3600' } });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('no 401 ever reaches the caller, and each token is refreshed once, before it expires', async () => {
    // Only Date is faked: the server (same process) and the SDK both see the simulated time, while
    // sockets and timers run for real.
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const clock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };
    const api = new LatchkeyApi(stack.url, { anonKey: stack.anonKey, clock });
    await api.auth.signUp({ email: email('day'), password: PASSWORD });
    const http = createHttpClient(api.tokens, { baseUrl: stack.url, clock });
    stack.resetCounters();
    const seen: number[] = [];
    const stepMinutes = 5;
    for (let minute = 0; minute <= 24 * 60; minute += stepMinutes) {
      vi.setSystemTime(start + minute * 60_000 + 1);
      const responses = await Promise.all([http('/test/protected'), http('/test/protected'), http('/test/protected')]);
      for (const response of responses) {
        seen.push(response.status);
        await response.body?.cancel();
      }
    }
    expect(seen.filter((status) => status === 401)).toEqual([]);
    expect(seen).toHaveLength(3 * (24 * 60 / stepMinutes + 1));
    // Proactive refresh: the server never had to reject an expired token either.
    expect(stack.protectedStatuses.filter((status) => status === 401)).toEqual([]);
    expect(stack.tokenRequests.byGrant.refresh_token).toBe(24);
  }, 120_000);
});
