import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { startTarget, type Target } from './support.js';

/** `{"a":` … nested `depth` levels deep, built as text (JSON.stringify cannot go that deep). */
function nested(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

const NUL = '\u0000';
const LONE = '\ud800';

describeEachDatabase('refused input never reaches the database', (database) => {
  let target: Target;
  let before: Record<string, number>;
  beforeAll(async () => {
    target = await startTarget(database());
    before = await target.counts();
  });
  afterAll(async () => target?.close());

  const send = (method: 'POST' | 'PUT', url: string, body: unknown, token: string, headers: Record<string, string> = {}) =>
    target.app.inject({
      method,
      url,
      payload: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', apikey: target.anonKey, authorization: `Bearer ${token}`, ...headers },
    });

  function expectIdentityRefusal(response: { statusCode: number; json(): unknown }): void {
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 400, error_code: 'validation_failed', msg: expect.any(String) });
  }

  it('a NUL in a note is 400 invalid_request on /api/v1/notes', async () => {
    const response = await send('POST', '/api/v1/notes', { title: `a${NUL}b`, body: 'x' }, target.fixture.userToken);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('NUL') });
  });

  it('a lone surrogate in a note is 400 invalid_request on /api/v1/notes', async () => {
    const response = await send('POST', '/api/v1/notes', { title: `a${LONE}b`, body: 'x' }, target.fixture.userToken);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('a NUL in an organization name is 400 validation_failed', async () => {
    expectIdentityRefusal(await send('POST', '/auth/v1/organizations', { name: `x${NUL}` }, target.fixture.userToken));
  });

  it('a lone surrogate in an OAuth client name is 400 validation_failed', async () => {
    expectIdentityRefusal(await send('POST', '/auth/v1/admin/oauth/clients', { client_name: `x${LONE}` }, target.serviceKey));
  });

  it('a NUL in user metadata is 400 validation_failed on PUT /user', async () => {
    expectIdentityRefusal(await send('PUT', '/auth/v1/user', { data: { nickname: `x${NUL}` } }, target.fixture.userToken));
  });

  it('a NUL in an object key is refused too', async () => {
    expectIdentityRefusal(await send('PUT', '/auth/v1/user', { data: { [`k${NUL}`]: 'v' } }, target.fixture.userToken));
  });

  it('a NUL in an email is 400 validation_failed on /otp', async () => {
    expectIdentityRefusal(await send('POST', '/auth/v1/otp', { email: `a${NUL}@example.com` }, target.anonKey));
  });

  it('a lone surrogate in an email is refused on /signup, not stored as U+FFFD', async () => {
    expectIdentityRefusal(await send('POST', '/auth/v1/signup', { email: `a${LONE}b@example.com`, password: 'long enough password' }, target.anonKey));
    const { rows } = await database().query<{ n: number }>(`select count(*)::int as n from auth.users where email like '%' || chr(65533) || '%'`);
    expect(rows[0]!.n).toBe(0);
  });

  it('refusals use the 2024-01-01 error format when the client announces it', async () => {
    const response = await send('POST', '/auth/v1/signup', { email: `a${NUL}@example.com`, password: 'long enough password' }, target.anonKey, { 'x-supabase-api-version': '2024-01-01' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'validation_failed', message: expect.any(String) });
    expect(response.headers['x-sb-error-code']).toBe('validation_failed');
  });

  it('JSON nested deeper than 64 levels is 400 on /auth/v1 and /api/v1', async () => {
    expectIdentityRefusal(await send('PUT', '/auth/v1/user', `{"data":{"x":${nested(100)}}}`, target.fixture.userToken));
    const response = await send('POST', '/api/v1/notes', `{"title":"t","body":${nested(100)}}`, target.fixture.userToken);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('a publish with data nested 100,000 deep is 400 bad request on the server API, and refused fast', async () => {
    const started = performance.now();
    const response = await target.app.inject({
      method: 'POST',
      url: '/api/publish',
      payload: `{"channel":"news","data":${nested(100_000)}}`,
      headers: { 'content-type': 'application/json', 'x-api-key': target.gatewayKey },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: { code: 107, message: expect.stringContaining('nested') } });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('a NUL in a server API channel is 400 bad request', async () => {
    const response = await target.app.inject({
      method: 'POST',
      url: '/api/publish',
      payload: JSON.stringify({ channel: `news${NUL}`, data: {} }),
      headers: { 'content-type': 'application/json', 'x-api-key': target.gatewayKey },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 107 } });
  });

  it('a NUL in a query string or a path parameter is refused before any query runs', async () => {
    const query = await target.app.inject({ method: 'GET', url: '/auth/v1/admin/users?email=a%00b', headers: { apikey: target.serviceKey, authorization: `Bearer ${target.serviceKey}` } });
    expectIdentityRefusal(query);
    const path = await target.app.inject({ method: 'GET', url: '/api/v1/notes/a%00b', headers: { authorization: `Bearer ${target.fixture.userToken}` } });
    expect(path.statusCode).toBe(400);
    expect(path.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('a NUL in a form field or in Basic credentials is 400 invalid_request on the OAuth token endpoint', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const [payload, headers] of [
      ['grant_type=client_credentials&client_id=%00&client_secret=x', form],
      ['grant_type=password&username=a%00@example.com&password=x', form],
      ['grant_type=client_credentials', { ...form, authorization: `Basic ${Buffer.from(`${target.fixture.client}\u0000:secret`).toString('base64')}` }],
    ] as const) {
      const response = await target.app.inject({ method: 'POST', url: '/auth/v1/oauth/token', payload, headers });
      expect(response.statusCode, payload).toBe(400);
      expect(response.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    }
  });

  it('a malformed id in a path answers 404, never 500', async () => {
    const headers = { apikey: target.serviceKey, authorization: `Bearer ${target.serviceKey}` };
    for (const url of ['/auth/v1/admin/users/not-a-uuid', '/auth/v1/organizations/not-a-uuid/members', '/auth/v1/admin/oauth/clients/not-a-uuid']) {
      const response = await target.app.inject({ method: 'GET', url, headers });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, url).toBeLessThan(500);
    }
  });

  it('nothing was stored by the refused requests and the server is healthy', async () => {
    expect(await target.counts()).toEqual(before);
    expect((await target.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  describe('gateway connection', () => {
    it('closes a connection that sends a NUL, a lone surrogate or deep nesting with 3501 bad request', async () => {
      const wsUrl = `${target.server.url.replace('http', 'ws')}/connection/websocket`;
      for (const frame of [
        `{"id":1,"connect":{"token":"${target.fixture.userToken}","name":"a\\u0000"}}`,
        `{"id":1,"connect":{"token":"${target.fixture.userToken}","name":"a\\ud800"}}`,
        `{"id":1,"connect":{"token":"${target.fixture.userToken}","data":${nested(1000)}}}`,
      ]) {
        const ws = new WebSocket(wsUrl);
        await new Promise<void>((resolve, reject) => {
          ws.once('open', resolve);
          ws.once('error', reject);
        });
        const closed = new Promise<number>((resolve) => {
          ws.once('close', (code) => resolve(code));
          setTimeout(() => resolve(0), 5000).unref();
        });
        ws.send(frame);
        expect(await closed).toBe(3501);
        ws.terminate();
      }
    });
  });
});
