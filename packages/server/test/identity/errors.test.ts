import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityError, loadIdentitySettings } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { email, post, startIdentity, type IdentityServer } from './support.js';

const MODERN = { 'x-supabase-api-version': '2024-01-01' };
const PASSWORD = 'correct-horse-1';

describeEachDatabase('identity errors and limits', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers in the 2024-01-01 format, echoing the header, and in the legacy format otherwise', async () => {
    const modern = await post(`${app.auth}/token?grant_type=password`, { email: email(), password: 'whatever-1' }, MODERN);
    expect(modern.status).toBe(400);
    expect(modern.body).toEqual({ code: 'invalid_credentials', message: 'Invalid login credentials' });
    expect(modern.headers.get('x-supabase-api-version')).toBe('2024-01-01');
    expect(modern.headers.get('x-sb-error-code')).toBe('invalid_credentials');

    const legacy = await post(`${app.auth}/token?grant_type=password`, { email: email(), password: 'whatever-1' });
    expect(legacy.status).toBe(400);
    expect(legacy.body).toMatchObject({ code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' });
    expect(legacy.headers.get('x-supabase-api-version')).toBeNull();

    const weak = await post(`${app.auth}/signup`, { email: email(), password: '12345' }, MODERN);
    expect(weak.status).toBe(422);
    expect(weak.body).toEqual({ code: 'weak_password', message: 'Password should be at least 6 characters.', weak_password: { reasons: ['length'] } });
  });

  it('never answers 5xx to bad input', async () => {
    const cases: [string, string | Record<string, unknown>, number, string][] = [
      ['/signup', '{"email":', 400, 'bad_json'],
      ['/signup', '[1,2]', 400, 'bad_json'],
      ['/signup', { email: 42, password: PASSWORD }, 400, 'bad_json'],
      ['/signup', { email: 'not-an-email', password: PASSWORD }, 400, 'validation_failed'],
      ['/signup', { email: email() }, 400, 'validation_failed'],
      ['/signup', { email: email(), password: 'x'.repeat(73) }, 400, 'validation_failed'],
      ['/signup', {}, 422, 'anonymous_provider_disabled'],
      ['/token?grant_type=password', '{{', 400, 'bad_json'],
      ['/token?grant_type=password', {}, 400, 'validation_failed'],
      ['/token?grant_type=password', { email: 'nobody', password: PASSWORD }, 400, 'invalid_credentials'],
      ['/token?grant_type=password', { email: email(), password: 'é'.repeat(100) }, 400, 'invalid_credentials'],
      ['/token?grant_type=magic', {}, 400, 'invalid_credentials'],
      ['/token?grant_type=refresh_token', { refresh_token: 12 }, 400, 'bad_json'],
      ['/logout?scope=everything', {}, 400, 'validation_failed'],
    ];
    for (const [path, body, status, code] of cases) {
      const answer = await post(`${app.auth}${path}`, body, MODERN);
      expect({ path, body, status: answer.status, code: answer.body.code }).toEqual({ path, body, status, code });
    }
    const empty = await post(`${app.auth}/token?grant_type=refresh_token`, {});
    expect(empty).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'refresh_token required' } });
  });

  it('answers JSON 404 for unknown routes and 401/403 for missing or bad tokens', async () => {
    const missing = await fetch(`${app.auth}/no/such/route`, { headers: MODERN });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'not_found' });

    const noToken = await fetch(`${app.auth}/user`, { headers: MODERN });
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toEqual({ code: 'no_authorization', message: 'This endpoint requires a valid Bearer token' });

    const garbage = await fetch(`${app.auth}/user`, { headers: { ...MODERN, authorization: 'Bearer abc.def.ghi' } });
    expect(garbage.status).toBe(403);
    expect(((await garbage.json()) as { code: string }).code).toBe('bad_jwt');

    const anonOnUser = await fetch(`${app.auth}/user`, { headers: { ...MODERN, authorization: `Bearer ${app.anonKey}` } });
    expect(anonOnUser.status).toBe(403);
    expect(await anonOnUser.json()).toEqual({ code: 'bad_jwt', message: 'invalid claim: missing sub claim' });

    const badId = await fetch(`${app.auth}/admin/users/not-a-uuid`, { headers: { ...MODERN, authorization: `Bearer ${app.serviceRoleKey}` } });
    expect(badId.status).toBe(400);
    const badPage = await fetch(`${app.auth}/admin/users?page=-1`, { headers: { ...MODERN, authorization: `Bearer ${app.serviceRoleKey}` } });
    expect(badPage.status).toBe(400);
    expect(((await badPage.json()) as { message: string }).message).toMatch(/^Bad Pagination Parameters/);
  });

  it('serves health, settings and CORS preflights', async () => {
    expect(await (await fetch(`${app.auth}/health`)).json()).toMatchObject({ name: 'GoTrue', version: expect.any(String) });
    expect(await (await fetch(`${app.auth}/settings`)).json()).toMatchObject({ disable_signup: false, mailer_autoconfirm: true, external: { email: true, phone: false } });
    const preflight = await fetch(`${app.auth}/token?grant_type=password`, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/apikey/);
  });

  it('limits sign-ups and password logins per client address (429 over_request_rate_limit)', async () => {
    const limited = await startIdentity(database(), {
      LATCHKEY_RATE_LIMIT_SIGNUP: '1',
      LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '1',
      LATCHKEY_RATE_LIMIT_BURST: '3',
      GOTRUE_RATE_LIMIT_HEADER: 'X-Forwarded-For',
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1, ::1',
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await post(`${limited.auth}/signup`, { email: email(), password: PASSWORD }, { 'x-forwarded-for': '203.0.113.7' })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const other = await post(`${limited.auth}/signup`, { email: email(), password: PASSWORD }, { 'x-forwarded-for': '203.0.113.8, 10.0.0.1' });
      expect(other.status).toBe(200);
      const logins: number[] = [];
      for (let i = 0; i < 4; i += 1) logins.push((await post(`${limited.auth}/token?grant_type=password`, { email: email(), password: PASSWORD }, { ...MODERN, 'x-forwarded-for': '203.0.113.9' })).status);
      expect(logins).toEqual([400, 400, 400, 429]);
      const limitedAnswer = await post(`${limited.auth}/token?grant_type=password`, { email: email(), password: PASSWORD }, { ...MODERN, 'x-forwarded-for': '203.0.113.9' });
      expect(limitedAnswer.body).toEqual({ code: 'over_request_rate_limit', message: 'Request rate limit reached' });
    } finally {
      await limited.close();
    }
  });

  it('honours disabled sign-up, disabled email and autoconfirm off', async () => {
    const closed = await startIdentity(database(), { GOTRUE_DISABLE_SIGNUP: 'true' });
    try {
      const answer = await post(`${closed.auth}/signup`, { email: email(), password: PASSWORD }, MODERN);
      expect(answer).toMatchObject({ status: 422, body: { code: 'signup_disabled', message: 'Signups not allowed for this instance' } });
    } finally {
      await closed.close();
    }
    const confirming = await startIdentity(database(), { GOTRUE_MAILER_AUTOCONFIRM: 'false', GOTRUE_PASSWORD_MIN_LENGTH: '10' });
    try {
      const address = email();
      const weak = await post(`${confirming.auth}/signup`, { email: address, password: 'nine-char' }, MODERN);
      expect(weak.body).toMatchObject({ code: 'weak_password', message: 'Password should be at least 10 characters.' });
      const answer = await post(`${confirming.auth}/signup`, { email: address, password: 'long-enough-1' }, MODERN);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ email: address, id: expect.any(String) });
      expect(answer.body).not.toHaveProperty('access_token');
      const login = await post(`${confirming.auth}/token?grant_type=password`, { email: address, password: 'long-enough-1' }, MODERN);
      expect(login.body).toEqual({ code: 'email_not_confirmed', message: 'Email not confirmed' });
    } finally {
      await confirming.close();
    }
  });

  it('runs claims hooks at every issuance and refuses a malformed hook answer with a clear 500', async () => {
    const hooked = await startIdentity(database());
    try {
      const seen: string[] = [];
      let broken = false;
      hooked.identity.addClaimsHook(async ({ claims, authentication_method }) => {
        seen.push(authentication_method);
        if (broken) return { claims: { ...claims, session_id: undefined } };
        return { claims: { ...claims, app_metadata: { ...claims.app_metadata, organization_id: 'org-1', org_role: 'owner' } } };
      });
      const signUp = await post(`${hooked.auth}/signup`, { email: email(), password: PASSWORD });
      const payload = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, { organization_id?: string }>;
      expect(payload(signUp.body.access_token as string).app_metadata!.organization_id).toBe('org-1');
      const refreshed = await post(`${hooked.auth}/token?grant_type=refresh_token`, { refresh_token: signUp.body.refresh_token });
      expect(payload(refreshed.body.access_token as string).app_metadata!.organization_id).toBe('org-1');
      expect(seen).toEqual(['password', 'token_refresh']);

      const direct = await hooked.identity.issueSession((signUp.body.user as { id: string }).id, { method: 'otp' });
      expect(payload(direct.access_token).app_metadata!.organization_id).toBe('org-1');
      expect(seen.at(-1)).toBe('otp');

      broken = true;
      const failed = await post(`${hooked.auth}/token?grant_type=refresh_token`, { refresh_token: refreshed.body.refresh_token }, MODERN);
      expect(failed.status).toBe(500);
      expect(failed.body).toEqual({ code: 'unexpected_failure', message: 'Error running the custom access token hook: output claims do not conform to the expected schema' });
      broken = false;
      // Nothing was rotated by the failed attempt.
      const retried = await post(`${hooked.auth}/token?grant_type=refresh_token`, { refresh_token: refreshed.body.refresh_token });
      expect(retried.status).toBe(200);
    } finally {
      await hooked.close();
    }
  });
});

describe('identity settings', () => {
  it('reads LATCHKEY_* first, then the GoTrue names, with defaults', () => {
    const defaults = loadIdentitySettings({});
    expect(defaults).toMatchObject({ jwtExpiry: 3600, refreshTokenReuseInterval: 10, passwordMinLength: 6, mailerAutoconfirm: true, adminRoles: ['service_role', 'supabase_admin'], audience: 'authenticated' });
    const gotrue = loadIdentitySettings({
      GOTRUE_JWT_EXP: '900',
      GOTRUE_JWT_AUD: 'app',
      GOTRUE_JWT_ISSUER: 'https://auth.example.com',
      GOTRUE_SITE_URL: 'https://example.com/',
      GOTRUE_MAILER_AUTOCONFIRM: 'false',
      GOTRUE_EXTERNAL_EMAIL_ENABLED: 'false',
      GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED: 'false',
      GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL: '5',
      GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '300',
      GOTRUE_RATE_LIMIT_HEADER: 'X-Forwarded-For',
      GOTRUE_JWT_ADMIN_ROLES: 'service_role',
    });
    expect(gotrue).toMatchObject({
      jwtExpiry: 900,
      audience: 'app',
      issuer: 'https://auth.example.com',
      siteUrl: 'https://example.com',
      mailerAutoconfirm: false,
      emailEnabled: false,
      refreshTokenRotation: false,
      refreshTokenReuseInterval: 5,
      rateLimitToken: 300,
      rateLimitHeader: 'x-forwarded-for',
      adminRoles: ['service_role'],
    });
    expect(loadIdentitySettings({ LATCHKEY_JWT_EXPIRY: '60', GOTRUE_JWT_EXP: '900' }).jwtExpiry).toBe(60);
  });

  it('throws ConfigError naming the variable for bad values', () => {
    expect(() => loadIdentitySettings({ GOTRUE_JWT_EXP: 'soon' })).toThrow('GOTRUE_JWT_EXP: must be a whole number (got "soon")');
    expect(() => loadIdentitySettings({ GOTRUE_MAILER_AUTOCONFIRM: 'maybe' })).toThrow('GOTRUE_MAILER_AUTOCONFIRM: must be true or false (got "maybe")');
    expect(() => loadIdentitySettings({ GOTRUE_JWT_SECRET: 'short' })).toThrow('GOTRUE_JWT_SECRET: must be at least 32 bytes long (HS256 needs a 256-bit key)');
    expect(() => loadIdentitySettings({ GOTRUE_PASSWORD_MIN_LENGTH: '0' })).toThrow(/^GOTRUE_PASSWORD_MIN_LENGTH: must be at least 1/);
    expect(() => loadIdentitySettings({ GOTRUE_SITE_URL: 'nope' })).toThrow('GOTRUE_SITE_URL: must be an absolute URL');
    expect(() => loadIdentitySettings({ LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '-1' })).toThrow(/^LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL/);
  });

  it('gives every IdentityError a status and a stable code', () => {
    const error = new IdentityError(422, 'weak_password', 'Password should be at least 6 characters.', { weak_password: { reasons: ['length'] } });
    expect(error).toMatchObject({ status: 422, code: 'weak_password', extra: { weak_password: { reasons: ['length'] } } });
  });
});
