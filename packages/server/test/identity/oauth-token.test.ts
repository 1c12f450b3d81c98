import { createVerifier } from '@latchkey/verify';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { email, post, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'correct-horse-1';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function form(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

/** A TOTP code of the step before or after the current one (so the test does not race the clock). */
function codeAt(secret: string, offsetSteps: number): string {
  return authenticator.clone({ epoch: Date.now() + offsetSteps * 30_000 }).generate(secret);
}

describeEachDatabase('OAuth token endpoint', (database) => {
  let app: IdentityServer;
  let tokenUrl: string;
  const admin = () => ({ authorization: `Bearer ${app.serviceRoleKey}`, apikey: app.serviceRoleKey });

  beforeAll(async () => {
    app = await startIdentity(database());
    tokenUrl = `${app.auth}/oauth/token`;
  });
  afterAll(async () => {
    await app?.close();
  });

  async function createClient(body: Record<string, unknown>): Promise<{ client_id: string; client_secret: string }> {
    const answer = await post(`${app.auth}/admin/oauth/clients`, body, admin());
    expect(answer.status).toBe(201);
    return answer.body as never;
  }

  describe('client_credentials', () => {
    it('issues a token with client_secret_basic and client_secret_post that @latchkey/verify accepts', async () => {
      const org = await database().query<{ id: string }>(`insert into auth.organizations (name) values ('Acme') returning id`);
      const organizationId = org.rows[0]!.id;
      const client = await createClient({ client_name: 'billing worker', scopes: ['notes:read', 'notes:write'], organization_id: organizationId });
      expect(client.client_id).toMatch(/^lkc_[0-9a-f]{24}$/);
      expect(typeof client.client_secret).toBe('string');

      const viaBasic = await form(tokenUrl, { grant_type: 'client_credentials' }, { authorization: basic(client.client_id, client.client_secret) });
      expect(viaBasic.status).toBe(200);
      expect(viaBasic.headers.get('cache-control')).toBe('no-store');
      expect(viaBasic.body).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'notes:read notes:write' });
      expect(viaBasic.body.refresh_token).toBeUndefined();

      const viaPost = await form(tokenUrl, { grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret, scope: 'notes:read' });
      expect(viaPost.status).toBe(200);
      expect(viaPost.body.scope).toBe('notes:read');

      const verifier = createVerifier({ jwksUrl: app.identity.jwksUrl(), issuer: app.identity.issuer(), audience: 'authenticated' });
      const claims = await verifier.verify(viaPost.body.access_token as string);
      expect(claims).toMatchObject({
        sub: client.client_id,
        client_id: client.client_id,
        role: 'authenticated',
        scope: 'notes:read',
        aal: 'aal1',
        is_anonymous: false,
        app_metadata: { provider: 'client_credentials', client_name: 'billing worker', organization_id: organizationId },
      });
      expect(claims.session_id).toBeUndefined();
    });

    it('refuses a wrong secret with 401 invalid_client, with a Basic challenge after Basic authentication', async () => {
      const client = await createClient({ client_name: 'worker' });
      const viaBasic = await form(tokenUrl, { grant_type: 'client_credentials' }, { authorization: basic(client.client_id, 'wrong') });
      expect(viaBasic.status).toBe(401);
      expect(viaBasic.body).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
      expect(viaBasic.headers.get('www-authenticate')).toMatch(/^Basic /);

      const viaPost = await form(tokenUrl, { grant_type: 'client_credentials', client_id: client.client_id, client_secret: 'wrong' });
      expect(viaPost.status).toBe(401);
      expect(viaPost.body.error).toBe('invalid_client');
      expect(viaPost.headers.get('www-authenticate')).toBeNull();

      const unknown = await form(tokenUrl, { grant_type: 'client_credentials', client_id: 'lkc_000000000000000000000000', client_secret: client.client_secret });
      expect(unknown.status).toBe(401);
      const none = await form(tokenUrl, { grant_type: 'client_credentials' });
      expect(none.status).toBe(401);
      expect(none.body.error).toBe('invalid_client');
    });

    it('refuses scopes the client was not given with invalid_scope', async () => {
      const client = await createClient({ client_name: 'reader', scopes: 'notes:read' });
      const answer = await form(tokenUrl, { grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret, scope: 'notes:write' });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_scope');
    });

    it('lists and deletes clients through the admin API, never showing a secret again', async () => {
      const client = await createClient({ client_name: 'temporary' });
      const list = await fetch(`${app.auth}/admin/oauth/clients`, { headers: admin() }).then((response) => response.json() as Promise<{ clients: Record<string, unknown>[] }>);
      const listed = list.clients.find((entry) => entry.client_id === client.client_id);
      expect(listed).toMatchObject({ client_name: 'temporary', scopes: [] });
      expect(listed).not.toHaveProperty('client_secret');
      const removed = await fetch(`${app.auth}/admin/oauth/clients/${client.client_id}`, { method: 'DELETE', headers: admin() });
      expect(removed.status).toBe(204);
      const again = await fetch(`${app.auth}/admin/oauth/clients/${client.client_id}`, { method: 'DELETE', headers: admin() });
      expect(again.status).toBe(404);
      const after = await form(tokenUrl, { grant_type: 'client_credentials', client_id: client.client_id, client_secret: client.client_secret });
      expect(after.status).toBe(401);
      const anon = await post(`${app.auth}/admin/oauth/clients`, { client_name: 'x' }, { authorization: `Bearer ${app.anonKey}` });
      expect(anon.status).toBe(403);
    });
  });

  describe('password and refresh_token', () => {
    it('logs in with username and password, then refreshes with rotation', async () => {
      const address = email('oauth');
      expect((await post(`${app.auth}/signup`, { email: address, password: PASSWORD })).status).toBe(200);
      const login = await form(tokenUrl, { grant_type: 'password', username: address, password: PASSWORD });
      expect(login.status).toBe(200);
      expect(login.headers.get('cache-control')).toBe('no-store');
      expect(login.body.token_type).toBe('bearer');
      expect(login.body.expires_in).toBeGreaterThan(3590);
      expect(claimsOf(login.body.access_token as string)).toMatchObject({ aal: 'aal1', amr: [{ method: 'password' }] });

      const refreshed = await form(tokenUrl, { grant_type: 'refresh_token', refresh_token: login.body.refresh_token as string });
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.refresh_token).not.toBe(login.body.refresh_token);

      const unknown = await form(tokenUrl, { grant_type: 'refresh_token', refresh_token: 'not-a-token' });
      expect(unknown.status).toBe(400);
      expect(unknown.body).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token: Refresh Token Not Found' });

      const wrong = await form(tokenUrl, { grant_type: 'password', username: address, password: 'nope-nope' });
      expect(wrong.status).toBe(400);
      expect(wrong.body).toEqual({ error: 'invalid_grant', error_description: 'Invalid login credentials' });
    });

    it('requires the totp field for accounts with a verified TOTP factor and gives aal2', async () => {
      const address = email('oauth-totp');
      const signUp = await post(`${app.auth}/signup`, { email: address, password: PASSWORD });
      const bearer = { authorization: `Bearer ${signUp.body.access_token as string}` };
      const enrolled = await post(`${app.auth}/factors`, { factor_type: 'totp', friendly_name: 'phone' }, bearer);
      expect(enrolled.status).toBe(200);
      const factorId = enrolled.body.id as string;
      const secret = (enrolled.body.totp as { secret: string }).secret;
      const challenge = await post(`${app.auth}/factors/${factorId}/challenge`, {}, bearer);
      const verified = await post(`${app.auth}/factors/${factorId}/verify`, { challenge_id: challenge.body.id, code: codeAt(secret, -1) }, bearer);
      expect(verified.status).toBe(200);

      const missing = await form(tokenUrl, { grant_type: 'password', username: address, password: PASSWORD });
      expect(missing.status).toBe(400);
      expect(missing.body.error).toBe('invalid_grant');
      expect(missing.body.error_description).toMatch(/TOTP code is required/);

      const wrongCode = await form(tokenUrl, { grant_type: 'password', username: address, password: PASSWORD, totp: '000000' === codeAt(secret, 0) ? '111111' : '000000' });
      expect(wrongCode.status).toBe(400);
      expect(wrongCode.body.error_description).toMatch(/Invalid TOTP code/);

      const code = codeAt(secret, 0);
      const login = await form(tokenUrl, { grant_type: 'password', username: address, password: PASSWORD, totp: code });
      expect(login.status).toBe(200);
      const claims = claimsOf(login.body.access_token as string);
      expect(claims.aal).toBe('aal2');
      expect((claims.amr as { method: string }[]).map((entry) => entry.method)).toEqual(['totp', 'password']);

      const replay = await form(tokenUrl, { grant_type: 'password', username: address, password: PASSWORD, totp: code });
      expect(replay.status).toBe(400);
      expect(replay.body.error).toBe('invalid_grant');
      // An earlier step than the one used is refused too.
      const older = await form(tokenUrl, { grant_type: 'password', username: address, password: PASSWORD, totp: codeAt(secret, -1) });
      expect(older.status).toBe(400);
    });
  });

  describe('request errors', () => {
    it('answers RFC 6749 errors for malformed requests', async () => {
      expect((await form(tokenUrl, {})).body).toMatchObject({ error: 'invalid_request' });
      expect((await form(tokenUrl, { grant_type: 'authorization_code', code: 'x' })).body).toMatchObject({ error: 'unsupported_grant_type' });
      expect((await form(tokenUrl, { grant_type: 'password', username: 'a@example.com' })).body).toMatchObject({ error: 'invalid_request' });
      const json = await post(tokenUrl, { grant_type: 'password' });
      expect(json.status).toBe(400);
      expect(json.body.error).toBe('invalid_request');
      const repeated = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password&grant_type=refresh_token' });
      expect(repeated.status).toBe(400);
      expect(((await repeated.json()) as { error: string }).error).toBe('invalid_request');
    });

    it('lists the endpoint in the OpenID discovery document', async () => {
      const document = (await fetch(`${app.auth}/.well-known/openid-configuration`).then((response) => response.json())) as Record<string, unknown>;
      expect(document.token_endpoint).toBe(`${app.auth}/oauth/token`);
      expect(document.grant_types_supported).toEqual(['password', 'refresh_token', 'client_credentials']);
      expect(document.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none']);
    });
  });
});
