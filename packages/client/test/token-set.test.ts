import { describe, expect, it } from 'vitest';
import { InvalidTokenResponseError, processTokenResponse, TokenEndpointError, TokenEndpointUnavailableError, TokenSet } from '@latchkey/client';

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('TokenSet', () => {
  const now = 1_700_000_000_000;

  it('checks validity against the skew', () => {
    const tokens = new TokenSet({ accessToken: 'a', accessExpiresAt: now + 60_000, refreshToken: 'r', refreshExpiresAt: now + 120_000 });
    expect(tokens.accessValid(30, now)).toBe(true);
    expect(tokens.accessValid(61, now)).toBe(false);
    expect(tokens.refreshValid(30, now + 89_000)).toBe(true);
    expect(tokens.refreshValid(30, now + 91_000)).toBe(false);
    expect(tokens.authorizationHeader).toBe('Bearer a');
  });

  it('tells a refresh token without known expiry from no refresh token', () => {
    const unbounded = new TokenSet({ accessToken: 'a', accessExpiresAt: now, refreshToken: 'r', refreshExpiresAt: null });
    const none = new TokenSet({ accessToken: 'a', accessExpiresAt: now });
    expect(unbounded.refreshValid(30, now + 10 * 365 * 86_400_000)).toBe(true);
    expect(none.refreshValid(30, now)).toBe(false);
    expect(none.refreshExpiresAt).toBeNull();
  });

  it('treats an unknown access expiry as valid', () => {
    expect(new TokenSet({ accessToken: 'a', accessExpiresAt: null }).accessValid(30, now)).toBe(true);
  });

  it('round-trips through JSON and rejects malformed stored forms', () => {
    const tokens = new TokenSet({ accessToken: 'a', tokenType: 'bearer', accessExpiresAt: now, refreshToken: 'r', refreshExpiresAt: null });
    const back = TokenSet.fromJSON(JSON.parse(JSON.stringify(tokens)));
    expect(back).toEqual(tokens);
    expect(back.tokenType).toBe('Bearer');
    expect(() => TokenSet.fromJSON({ access_token: 1 })).toThrow(TypeError);
    expect(() => TokenSet.fromJSON({ access_token: 'a', access_expires_at: 'soon' })).toThrow(TypeError);
    expect(() => TokenSet.fromJSON([])).toThrow(TypeError);
  });
});

describe('processTokenResponse', () => {
  const requestedAt = 1_700_000_000_000;

  it('anchors expiries at the request start and accepts numeric strings', async () => {
    const tokens = await processTokenResponse(
      json({ access_token: 'a', token_type: 'bearer', expires_in: '3600', refresh_token: 'r', refresh_expires_in: 7200.5 }),
      requestedAt,
      requestedAt + 5000,
    );
    expect(tokens.accessExpiresAt).toBe(requestedAt + 3_600_000);
    expect(tokens.refreshExpiresAt).toBe(requestedAt + 7_200_500);
    expect(tokens.tokenType).toBe('Bearer');
  });

  it('reads refresh_expires_in 0 (Keycloak offline tokens) as no known expiry, not as no refresh token', async () => {
    const tokens = await processTokenResponse(
      json({ access_token: 'a', token_type: 'Bearer', expires_in: 300, refresh_token: 'r', refresh_expires_in: 0 }),
      requestedAt,
    );
    expect(tokens.refreshToken).toBe('r');
    expect(tokens.refreshExpiresAt).toBeNull();
    expect(tokens.refreshValid(30, requestedAt + 86_400_000)).toBe(true);
  });

  it.each([
    [{ token_type: 'bearer', expires_in: 1 }, /access_token/],
    [{ access_token: '', token_type: 'bearer' }, /access_token/],
    [{ access_token: 'a', expires_in: 1 }, /token_type/],
    [{ access_token: 'a', token_type: 'mac' }, /unsupported "token_type"/],
    [{ access_token: 'a', token_type: 'bearer', expires_in: -1 }, /expires_in/],
    [{ access_token: 'a', token_type: 'bearer', expires_in: 'soon' }, /expires_in/],
    [{ access_token: 'a', token_type: 'bearer', expires_in: 1, refresh_token: 5 }, /refresh_token/],
    [[1, 2], /JSON object/],
  ])('rejects a non-conforming body %j', async (body, message) => {
    const error = await processTokenResponse(json(body), requestedAt).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidTokenResponseError);
    expect((error as InvalidTokenResponseError).code).toBe('ERR_INVALID_TOKEN_RESPONSE');
    expect((error as Error).message).toMatch(message);
  });

  it('rejects a 200 that is not JSON', async () => {
    await expect(processTokenResponse(new Response('<html>', { status: 200 }), requestedAt)).rejects.toBeInstanceOf(InvalidTokenResponseError);
  });

  it('reads OAuth, GoTrue and legacy GoTrue error bodies', async () => {
    const oauth = await processTokenResponse(json({ error: 'invalid_grant', error_description: 'revoked' }, 400), requestedAt).catch((e: unknown) => e);
    expect(oauth).toMatchObject({ code: 'ERR_TOKEN_ENDPOINT', status: 400, error: 'invalid_grant', errorDescription: 'revoked' });
    const gotrue = await processTokenResponse(json({ code: 'refresh_token_already_used', message: 'Invalid Refresh Token: Already Used' }, 400), requestedAt).catch((e: unknown) => e);
    expect(gotrue).toMatchObject({ error: 'refresh_token_already_used' });
    const legacy = await processTokenResponse(json({ code: 400, error_code: 'session_not_found', msg: 'gone' }, 400), requestedAt).catch((e: unknown) => e);
    expect(legacy).toMatchObject({ error: 'session_not_found', errorDescription: 'gone' });
    expect(legacy).toBeInstanceOf(TokenEndpointError);
  });

  it('classifies 5xx, 409 and 429 as transient and reads Retry-After', async () => {
    for (const status of [500, 502, 503, 409, 429, 408]) {
      const error = await processTokenResponse(json({ error: 'x' }, status, { 'retry-after': '7' }), requestedAt).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenEndpointUnavailableError);
      expect(error).toMatchObject({ status, retryAfter: 7 });
    }
    for (const code of ['slow_down', 'temporarily_unavailable']) {
      const error = await processTokenResponse(json({ error: code }, 400), requestedAt).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenEndpointUnavailableError);
    }
    const html = await processTokenResponse(new Response('Bad gateway', { status: 502 }), requestedAt).catch((e: unknown) => e);
    expect(html).toBeInstanceOf(TokenEndpointUnavailableError);
  });
});
