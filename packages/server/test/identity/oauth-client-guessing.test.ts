import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { post, startIdentity, type IdentityServer } from './support.js';

async function form(url: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describeEachDatabase('guessing an OAuth client secret at the token endpoint', (database) => {
  let app: IdentityServer;
  let tokenUrl: string;
  beforeEach(async () => {
    // A burst of 3 requests per address, refilled slowly; a fresh server (and bucket) for each grant.
    app = await startIdentity(database(), { LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '1', LATCHKEY_RATE_LIMIT_BURST: '3' });
    tokenUrl = `${app.auth}/oauth/token`;
  });
  afterEach(async () => {
    await app?.close();
  });

  for (const grant of ['client_credentials', 'password', 'refresh_token']) {
    it(`wrong secrets with grant_type=${grant} are limited per address, and the right one is then refused too`, async () => {
      const created = await post(`${app.auth}/admin/oauth/clients`, { client_name: `target ${grant}` }, { authorization: `Bearer ${app.serviceRoleKey}`, apikey: app.serviceRoleKey });
      expect(created.status).toBe(201);
      const clientId = created.body.client_id as string;
      const fields = { grant_type: grant, username: 'nobody@example.com', password: 'not-it-at-all', refresh_token: 'not-a-token' };
      const answers: string[] = [];
      for (let guess = 0; guess < 8; guess++) answers.push(String((await form(tokenUrl, { ...fields, client_id: clientId, client_secret: `guess-${guess}` })).body.error));
      expect(answers.slice(0, 2)).toEqual(['invalid_client', 'invalid_client']);
      expect(answers.slice(-3)).toEqual(['slow_down', 'slow_down', 'slow_down']);
      const right = await form(tokenUrl, { ...fields, client_id: clientId, client_secret: created.body.client_secret as string });
      expect(right.status).toBe(429);
      expect(right.body.error).toBe('slow_down');
    });
  }
});
