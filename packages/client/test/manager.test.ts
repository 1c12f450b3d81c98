import { describe, expect, it } from 'vitest';
import {
  ClientCredentialsAuth,
  MemoryTokenStore,
  NotLoggedInError,
  PasswordAuth,
  ReauthRequiredError,
  RefreshTokenAuth,
  TokenEndpointError,
  TokenEndpointUnavailableError,
  TokenManager,
  TokenSet,
  type SignedOutEvent,
} from '@latchkey/client';
import { fakeClock, fakeEndpoint, json } from './fake-endpoint.js';

const TOKEN_URL = 'https://id.example/auth/v1/oauth/token';

function expired(clock: { now(): number }, refreshToken: string | null = 'refresh-0') {
  return new TokenSet({ accessToken: 'access-0', accessExpiresAt: clock.now() - 1000, refreshToken });
}

describe('TokenManager', () => {
  it('validates options eagerly', () => {
    expect(() => new TokenManager(null, { tokenUrl: '' })).toThrow(TypeError);
    expect(() => new TokenManager(null, { tokenUrl: 'not a url' })).toThrow(TypeError);
    expect(() => new TokenManager(null, { tokenUrl: TOKEN_URL, expirySkew: -1 })).toThrow(/expirySkew/);
    expect(() => new TokenManager(null, { tokenUrl: TOKEN_URL, retry: { attempts: 0 } })).toThrow(/attempts/);
  });

  it('1000 concurrent callers on an expired token cause exactly one token request', async () => {
    const clock = fakeClock();
    const endpoint = fakeEndpoint();
    endpoint.valid.add('refresh-0');
    const store = new MemoryTokenStore(expired(clock));
    const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store, clock });
    const headers = await Promise.all(Array.from({ length: 1000 }, () => manager.authorizationHeader()));
    expect(new Set(headers)).toEqual(new Set(['Bearer access-1']));
    expect(endpoint.requests).toHaveLength(1);
    expect(endpoint.requests[0]!.fields).toEqual({ grant_type: 'refresh_token', refresh_token: 'refresh-0' });
    expect((await store.load())?.refreshToken).toBe('refresh-1');
  });

  it('does not call the endpoint while the token is valid', async () => {
    const clock = fakeClock();
    const endpoint = fakeEndpoint();
    const store = new MemoryTokenStore(new TokenSet({ accessToken: 'good', accessExpiresAt: clock.now() + 31_000, refreshToken: 'r' }));
    const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store, clock });
    expect(await manager.authorizationHeader()).toBe('Bearer good');
    clock.t += 2000; // now inside the 30 s skew
    endpoint.valid.add('r');
    expect(await manager.authorizationHeader()).toBe('Bearer access-1');
    expect(endpoint.requests).toHaveLength(1);
  });

  it('forceRefresh refreshes only when the rejected token is still current (no 401 stampede)', async () => {
    const clock = fakeClock();
    const endpoint = fakeEndpoint();
    endpoint.valid.add('refresh-0');
    const store = new MemoryTokenStore(new TokenSet({ accessToken: 'access-0', accessExpiresAt: clock.now() + 3_600_000, refreshToken: 'refresh-0' }));
    const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store, clock });
    const results = await Promise.all(Array.from({ length: 200 }, () => manager.forceRefresh('access-0')));
    expect(new Set(results.map((t) => t.accessToken))).toEqual(new Set(['access-1']));
    expect(endpoint.requests).toHaveLength(1);
    // A late 401 for the old token costs nothing.
    expect((await manager.forceRefresh('access-0')).accessToken).toBe('access-1');
    expect(endpoint.requests).toHaveLength(1);
    // A 401 for the current token refreshes again.
    expect((await manager.forceRefresh('access-1')).accessToken).toBe('access-2');
    expect(endpoint.requests).toHaveLength(2);
  });

  it('anchors expiry at the moment the request was sent', async () => {
    const clock = fakeClock();
    const endpoint = fakeEndpoint({
      respond: async () => {
        clock.t += 10_000; // a slow answer
        return json({ access_token: 'a', token_type: 'bearer', expires_in: 60 });
      },
    });
    const sentAt = clock.now();
    const manager = new TokenManager(new ClientCredentialsAuth('svc', 'shh'), { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, clock });
    const tokens = await manager.getTokens();
    expect(tokens.accessExpiresAt).toBe(sentAt + 60_000);
  });

  describe('permanent failures', () => {
    it.each(['invalid_grant', 'refresh_token_already_used', 'refresh_token_not_found', 'session_not_found', 'invalid_client'])(
      '%s clears the store and raises ReauthRequiredError',
      async (code) => {
        const clock = fakeClock();
        const endpoint = fakeEndpoint({ respond: () => json({ code, message: 'no' }, code === 'invalid_client' ? 401 : 400) });
        const store = new MemoryTokenStore(expired(clock));
        const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store, clock });
        const events: SignedOutEvent[] = [];
        manager.on('signedOut', (event) => events.push(event));
        const error = await manager.authorizationHeader().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ReauthRequiredError);
        expect((error as ReauthRequiredError).code).toBe('ERR_REAUTH_REQUIRED');
        expect((error as ReauthRequiredError).cause).toBeInstanceOf(TokenEndpointError);
        expect(await store.load()).toBeNull();
        expect(events).toEqual([{ reason: 'session_ended', error }]);
        expect(endpoint.requests).toHaveLength(1); // never retried
        await expect(manager.authorizationHeader()).rejects.toBeInstanceOf(NotLoggedInError);
      },
    );

    it('falls back to the password grant when the provider can sign in again', async () => {
      const clock = fakeClock();
      const endpoint = fakeEndpoint();
      const store = new MemoryTokenStore(expired(clock, 'revoked'));
      const manager = new TokenManager(new PasswordAuth('ada@example.com', 'secret', { clientId: 'cli' }), { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store, clock });
      expect(await manager.authorizationHeader()).toBe('Bearer access-1');
      expect(endpoint.requests.map((r) => r.fields.grant_type)).toEqual(['refresh_token', 'password']);
      expect(endpoint.requests[0]!.fields.client_id).toBe('cli');
      expect(endpoint.requests[1]!.fields).toMatchObject({ username: 'ada@example.com', password: 'secret', client_id: 'cli' });
    });

    it('a first login with wrong credentials raises the endpoint error, not ReauthRequiredError', async () => {
      const endpoint = fakeEndpoint();
      const manager = new TokenManager(new PasswordAuth('ada@example.com', 'wrong'), { tokenUrl: TOKEN_URL, fetch: endpoint.fetch });
      const error = await manager.getTokens().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenEndpointError);
      expect(error).toMatchObject({ error: 'invalid_grant', status: 400 });
    });

    it('ends a session without refresh token once the access token expires', async () => {
      const clock = fakeClock();
      const endpoint = fakeEndpoint();
      const store = new MemoryTokenStore(expired(clock, null));
      const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store, clock });
      await expect(manager.getTokens()).rejects.toBeInstanceOf(ReauthRequiredError);
      expect(endpoint.requests).toHaveLength(0);
    });
  });

  describe('transient failures', () => {
    it('retries 5xx and network errors with jittered backoff, then succeeds', async () => {
      const clock = fakeClock();
      const endpoint = fakeEndpoint({
        respond: (request, count) => {
          if (count === 1) throw new TypeError('fetch failed');
          if (count === 2) return new Response('busy', { status: 503 });
          return endpoint.standard(request, count);
        },
      });
      endpoint.valid.add('refresh-0');
      const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store: new MemoryTokenStore(expired(clock)), clock });
      expect(await manager.authorizationHeader()).toBe('Bearer access-1');
      expect(endpoint.requests).toHaveLength(3);
      expect(clock.sleeps).toHaveLength(2);
      expect(clock.sleeps[0]).toBeLessThanOrEqual(200);
      expect(clock.sleeps[1]).toBeLessThanOrEqual(400);
    });

    it('waits for Retry-After on 429', async () => {
      const clock = fakeClock();
      const endpoint = fakeEndpoint({
        respond: (request, count) => (count === 1 ? json({ code: 'over_request_rate_limit' }, 429, { 'retry-after': '3' }) : endpoint.standard(request, count)),
      });
      endpoint.valid.add('refresh-0');
      const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store: new MemoryTokenStore(expired(clock)), clock });
      expect(await manager.authorizationHeader()).toBe('Bearer access-1');
      expect(clock.sleeps).toEqual([3000]);
    });

    it('keeps a still-valid token through an outage and does not hammer the endpoint', async () => {
      const clock = fakeClock();
      const endpoint = fakeEndpoint({ respond: () => new Response('down', { status: 502 }) });
      const store = new MemoryTokenStore(new TokenSet({ accessToken: 'still-good', accessExpiresAt: clock.now() + 20_000, refreshToken: 'r' }));
      const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store, clock, retry: { attempts: 2 } });
      const failures: Error[] = [];
      manager.on('refreshFailed', (error) => failures.push(error));
      expect(await manager.authorizationHeader()).toBe('Bearer still-good');
      expect(endpoint.requests).toHaveLength(2);
      expect(failures).toHaveLength(1);
      expect(await manager.authorizationHeader()).toBe('Bearer still-good'); // inside the cooldown
      expect(endpoint.requests).toHaveLength(2);
      expect(await store.load()).not.toBeNull();
    });

    it('reports the failure and keeps the session when the token has expired', async () => {
      const clock = fakeClock();
      const endpoint = fakeEndpoint({ respond: () => new Response('down', { status: 500 }) });
      const store = new MemoryTokenStore(expired(clock));
      const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store, clock, retry: { attempts: 3 } });
      const error = await manager.authorizationHeader().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenEndpointUnavailableError);
      expect(endpoint.requests).toHaveLength(3);
      expect((await store.load())?.refreshToken).toBe('refresh-0');
    });
  });

  it('spends a RefreshTokenAuth token once and then continues from the store', async () => {
    const clock = fakeClock();
    const endpoint = fakeEndpoint({ expiresIn: 60 });
    endpoint.valid.add('bootstrap');
    const manager = new TokenManager(new RefreshTokenAuth('bootstrap', { clientId: 'cli' }), { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, clock });
    expect(await manager.authorizationHeader()).toBe('Bearer access-1');
    clock.t += 60_000;
    expect(await manager.authorizationHeader()).toBe('Bearer access-2');
    expect(endpoint.requests.map((r) => r.fields.refresh_token)).toEqual(['bootstrap', 'refresh-1']);
  });

  it('a dead RefreshTokenAuth token raises ReauthRequiredError and is not sent again', async () => {
    const endpoint = fakeEndpoint();
    const manager = new TokenManager(new RefreshTokenAuth('never-issued'), { tokenUrl: TOKEN_URL, fetch: endpoint.fetch });
    await expect(manager.getTokens()).rejects.toBeInstanceOf(ReauthRequiredError);
    await expect(manager.getTokens()).rejects.toBeInstanceOf(NotLoggedInError);
    expect(endpoint.requests).toHaveLength(1);
  });

  it('keeps the refresh token when the server does not rotate it', async () => {
    const clock = fakeClock();
    const endpoint = fakeEndpoint({ respond: () => json({ access_token: 'new', token_type: 'bearer', expires_in: 60 }) });
    const store = new MemoryTokenStore(expired(clock, 'long-lived'));
    const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, fetch: endpoint.fetch, store, clock });
    await manager.getTokens();
    expect((await store.load())?.refreshToken).toBe('long-lived');
  });

  it('speaks the GoTrue format: JSON body, grant_type in the query, apikey header', async () => {
    const endpoint = fakeEndpoint();
    const manager = new TokenManager(null, { tokenUrl: 'https://id.example/auth/v1/token', protocol: 'gotrue', apiKey: 'anon', fetch: endpoint.fetch });
    const refreshed: TokenSet[] = [];
    manager.on('signedIn', (tokens) => refreshed.push(tokens));
    const { tokens } = await manager.login(new PasswordAuth('ada@example.com', 'secret'));
    expect(tokens.accessToken).toBe('access-1');
    expect(refreshed).toHaveLength(1);
    const request = endpoint.requests[0]!;
    expect(request.url.searchParams.get('grant_type')).toBe('password');
    expect(request.headers.get('apikey')).toBe('anon');
    expect(request.headers.get('content-type')).toMatch(/^application\/json/);
    expect(request.fields).toEqual({ grant_type: 'password', email: 'ada@example.com', password: 'secret' });
    await manager.forceRefresh();
    expect(endpoint.requests[1]!.fields).toEqual({ grant_type: 'refresh_token', refresh_token: 'refresh-1' });
    await expect(manager.login(new ClientCredentialsAuth('a', 'b'))).rejects.toThrow(/does not support/);
  });

  it('clear() forgets the session and emits signedOut', async () => {
    const store = new MemoryTokenStore(new TokenSet({ accessToken: 'a', accessExpiresAt: null }));
    const manager = new TokenManager(null, { tokenUrl: TOKEN_URL, store, fetch: fakeEndpoint().fetch });
    const events: SignedOutEvent[] = [];
    manager.on('signedOut', (e) => events.push(e));
    await manager.clear();
    expect(await store.load()).toBeNull();
    expect(events).toEqual([{ reason: 'logout' }]);
  });
});
