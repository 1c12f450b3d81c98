import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, HttpError, LatchkeyApi, MemoryTokenStore, ReauthRequiredError, TokenManager, TokenSet } from '@latchkey/client';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { email, PASSWORD, startStack, type Stack } from './support.js';

describeEachDatabase('client SDK against the identity service', (database) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(database());
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function signedIn(): Promise<LatchkeyApi> {
    const api = new LatchkeyApi(stack.url, { anonKey: stack.anonKey });
    const address = email();
    const { tokens } = await api.auth.signUp({ email: address, password: PASSWORD });
    expect(tokens).not.toBeNull();
    return api;
  }

  it('signs up, logs in, reads the user, refreshes and logs out', async () => {
    const api = new LatchkeyApi(stack.url, { anonKey: stack.anonKey });
    const address = email();
    await api.auth.signUp({ email: address, password: PASSWORD });
    const fresh = new LatchkeyApi(stack.url, { anonKey: stack.anonKey });
    const session = await fresh.auth.login({ email: address, password: PASSWORD });
    expect(session.user?.email).toBe(address);
    expect(session.tokens.accessExpiresAt).toBeGreaterThan(Date.now() + 3_500_000);
    expect((await fresh.auth.user()).email).toBe(address);
    const before = session.tokens.refreshToken;
    const refreshed = await fresh.auth.refreshToken();
    expect(refreshed.refreshToken).not.toBe(before);
    await fresh.auth.logout();
    expect(await fresh.tokens.peek()).toBeNull();
    // The refresh token of the ended session is refused for good.
    const replay = new TokenManager(null, {
      tokenUrl: `${stack.url}/auth/v1/token`,
      protocol: 'gotrue',
      store: new MemoryTokenStore(new TokenSet({ accessToken: 'x', accessExpiresAt: 0, refreshToken: refreshed.refreshToken })),
    });
    await expect(replay.getTokens()).rejects.toBeInstanceOf(ReauthRequiredError);
  });

  it('clears the session when the server no longer knows it (global logout elsewhere)', async () => {
    const api = await signedIn();
    const elsewhere = new LatchkeyApi(stack.url, { anonKey: stack.anonKey, store: new MemoryTokenStore((await api.tokens.peek())!) });
    await elsewhere.auth.logout({ scope: 'global' });
    await expect(api.auth.user()).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(await api.tokens.peek()).toBeNull();
  });

  it('rejects wrong credentials with the server code', async () => {
    const api = new LatchkeyApi(stack.url, { anonKey: stack.anonKey });
    const error = await api.auth.login({ email: email('nobody'), password: 'wrong-password' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TOKEN_ENDPOINT', status: 400, error: 'invalid_credentials' });
    const signup = await api.auth.signUp({ email: 'not-an-address', password: PASSWORD }).catch((e: unknown) => e);
    expect(signup).toBeInstanceOf(HttpError);
  });

  it('1000 concurrent authorizationHeader() calls on an expired token send exactly one token request', async () => {
    const api = await signedIn();
    const current = (await api.tokens.peek())!;
    await api.tokens.setTokens(new TokenSet({ ...current, accessExpiresAt: Date.now() - 1000 }));
    stack.resetCounters();
    const headers = await Promise.all(Array.from({ length: 1000 }, () => api.tokens.authorizationHeader()));
    expect(stack.tokenRequests).toEqual({ total: 1, byGrant: { refresh_token: 1 } });
    expect(new Set(headers).size).toBe(1);
    expect(headers[0]).not.toBe(current.authorizationHeader);
  });

  it('200 concurrent requests that all get 401 cause one refresh', async () => {
    const api = await signedIn();
    const rejected = (await api.tokens.peek())!.accessToken;
    stack.revoked.add(rejected);
    stack.resetCounters();
    const http = createHttpClient(api.tokens, { baseUrl: stack.url });
    const responses = await Promise.all(Array.from({ length: 200 }, () => http('/test/protected')));
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200));
    expect(stack.tokenRequests).toEqual({ total: 1, byGrant: { refresh_token: 1 } });
    expect(stack.protectedStatuses.filter((s) => s === 401)).toHaveLength(200);
    expect(stack.protectedStatuses.filter((s) => s === 200)).toHaveLength(200);
  });

  it('a refresh token spent twice ends the session with ReauthRequiredError and clears the store', async () => {
    const api = await signedIn();
    const stale = (await api.tokens.peek())!;
    await api.auth.refreshToken();
    await api.auth.refreshToken(); // stale is now two generations old
    const events: string[] = [];
    const other = new TokenManager(null, {
      tokenUrl: `${stack.url}/auth/v1/token`,
      protocol: 'gotrue',
      store: new MemoryTokenStore(new TokenSet({ ...stale, accessExpiresAt: 0 })),
    });
    other.on('signedOut', (event) => events.push(event.reason));
    const error = await other.getTokens().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthRequiredError);
    expect(events).toEqual(['session_ended']);
    expect(await other.peek()).toBeNull();
  });
});
