import { describe, expect, it } from 'vitest';
import { createHttpClient, MemoryTokenStore, ReauthRequiredError, TokenManager, TokenSet } from '@latchkey/client';
import { fakeClock, fakeEndpoint, json } from './fake-endpoint.js';

/** A resource server that accepts only the tokens in `accepted`. */
function resourceServer(accepted: Set<string>, respond?: (request: Request, count: number) => Response | undefined) {
  const seen: Request[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    seen.push(request);
    const custom = respond?.(request, seen.length);
    if (custom) return custom;
    const token = request.headers.get('authorization')?.replace(/^Bearer /, '') ?? '';
    if (!accepted.has(token)) return new Response(null, { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    return json({ ok: true, body: request.body ? await request.text() : null });
  };
  return { fetch: fetch as typeof globalThis.fetch, seen };
}

function setup(accessExpiresInMs = 3_600_000) {
  const clock = fakeClock();
  const endpoint = fakeEndpoint();
  endpoint.valid.add('refresh-0');
  const store = new MemoryTokenStore(new TokenSet({ accessToken: 'access-0', accessExpiresAt: clock.now() + accessExpiresInMs, refreshToken: 'refresh-0' }));
  const manager = new TokenManager(null, { tokenUrl: 'https://id.example/token', fetch: endpoint.fetch, store, clock });
  return { clock, endpoint, manager };
}

describe('createHttpClient', () => {
  it('adds the bearer token and resolves relative URLs', async () => {
    const { manager } = setup();
    const server = resourceServer(new Set(['access-0']));
    const api = createHttpClient(manager, { baseUrl: 'https://api.example/api/v1/', fetch: server.fetch, headers: { apikey: 'anon' } });
    const response = await api('notes', { method: 'POST', body: '{"x":1}', headers: { 'content-type': 'application/json' } });
    expect(await response.json()).toEqual({ ok: true, body: '{"x":1}' });
    expect(server.seen[0]!.url).toBe('https://api.example/api/v1/notes');
    expect(server.seen[0]!.headers.get('apikey')).toBe('anon');
  });

  it('200 concurrent requests rejected with 401 cause one refresh, and each is retried once', async () => {
    const { manager, endpoint } = setup();
    const accepted = new Set<string>(); // access-0 is revoked server-side
    const server = resourceServer(accepted);
    manager.on('refreshed', (tokens) => accepted.add(tokens.accessToken));
    const api = createHttpClient(manager, { fetch: server.fetch });
    const responses = await Promise.all(Array.from({ length: 200 }, (_, i) => api(`https://api.example/r/${i}`, { method: 'PUT', body: `b${i}` })));
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(200));
    expect(endpoint.requests).toHaveLength(1);
    expect(server.seen).toHaveLength(400);
    expect(await responses[7]!.json()).toEqual({ ok: true, body: 'b7' });
  });

  it('returns the second 401 instead of looping', async () => {
    const { manager, endpoint } = setup();
    const server = resourceServer(new Set());
    const api = createHttpClient(manager, { fetch: server.fetch });
    expect((await api('https://api.example/x')).status).toBe(401);
    expect(server.seen).toHaveLength(2);
    expect(endpoint.requests).toHaveLength(1);
  });

  it('raises ReauthRequiredError when the refresh after a 401 ends the session', async () => {
    const { manager, endpoint } = setup();
    endpoint.valid.clear();
    const api = createHttpClient(manager, { fetch: resourceServer(new Set()).fetch });
    await expect(api('https://api.example/x')).rejects.toBeInstanceOf(ReauthRequiredError);
  });

  it('honours Retry-After on 429 and 503 (idempotent only)', async () => {
    const { manager, clock } = setup();
    const server = resourceServer(new Set(['access-0']), (request, count) =>
      count === 1 ? new Response(null, { status: 429, headers: { 'retry-after': '2' } }) : count === 3 ? new Response(null, { status: 503, headers: { 'retry-after': '1' } }) : undefined,
    );
    const api = createHttpClient(manager, { fetch: server.fetch, clock });
    expect((await api('https://api.example/a', { method: 'POST', body: 'x' })).status).toBe(200);
    expect(clock.sleeps).toEqual([2000]);
    expect((await api('https://api.example/b', { method: 'POST', body: 'x' })).status).toBe(503);
    expect(clock.sleeps).toEqual([2000]);
  });

  it('gives up when Retry-After is beyond the limit', async () => {
    const { manager, clock } = setup();
    const server = resourceServer(new Set(['access-0']), () => new Response(null, { status: 429, headers: { 'retry-after': '3600' } }));
    const api = createHttpClient(manager, { fetch: server.fetch, clock });
    expect((await api('https://api.example/a')).status).toBe(429);
    expect(clock.sleeps).toEqual([]);
  });

  it('sends the token and extra headers only to the allowed origins', async () => {
    const { manager } = setup();
    const server = resourceServer(new Set(['access-0']));
    const api = createHttpClient(manager, { fetch: server.fetch, origins: ['https://api.example'], headers: { apikey: 'anon' } });
    expect((await api('https://api.example/a')).status).toBe(200);
    expect((await api('https://elsewhere.example/a')).status).toBe(401);
    expect(server.seen[1]!.headers.has('authorization')).toBe(false);
    expect(server.seen[1]!.headers.has('apikey')).toBe(false);
    expect(server.seen).toHaveLength(2); // no refresh-and-retry for a request that carried no token
  });

  it('leaves a caller-set Authorization header alone', async () => {
    const { manager, endpoint } = setup(-1);
    const server = resourceServer(new Set(['mine']));
    const api = createHttpClient(manager, { fetch: server.fetch });
    expect((await api('https://api.example/a', { headers: { authorization: 'Bearer mine' } })).status).toBe(200);
    expect(endpoint.requests).toHaveLength(0);
  });
});
