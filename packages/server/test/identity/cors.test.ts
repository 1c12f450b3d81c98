import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { startIdentity, type IdentityServer } from './support.js';

async function corsOf(url: string, origin: string, method = 'GET'): Promise<{ status: number; allowOrigin: string | null; credentials: string | null; allowHeaders: string | null }> {
  const headers: Record<string, string> = { origin };
  if (method === 'OPTIONS') Object.assign(headers, { 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' });
  const response = await fetch(url, { method, headers });
  await response.arrayBuffer();
  return {
    status: response.status,
    allowOrigin: response.headers.get('access-control-allow-origin'),
    credentials: response.headers.get('access-control-allow-credentials'),
    allowHeaders: response.headers.get('access-control-allow-headers'),
  };
}

describeEachDatabase('CORS of /auth/v1', (database) => {
  let byDefault: IdentityServer;
  let configured: IdentityServer;

  beforeAll(async () => {
    byDefault = await startIdentity(database(), { LATCHKEY_SITE_URL: 'https://app.example.com' });
    configured = await startIdentity(database(), { LATCHKEY_CORS_ALLOWED_ORIGINS: 'https://console.example.com, *' });
  });

  afterAll(async () => {
    await byDefault?.close();
    await configured?.close();
  });

  it('gives a foreign origin no CORS at all by default (the attack: credentialed reads from any page)', async () => {
    for (const method of ['GET', 'OPTIONS']) {
      const answer = await corsOf(`${byDefault.auth}/settings`, 'https://evil.example.net', method);
      expect(answer).toMatchObject({ allowOrigin: null, credentials: null, allowHeaders: null });
    }
    const user = await corsOf(`${byDefault.auth}/user`, 'null');
    expect(user).toMatchObject({ status: 401, allowOrigin: null, credentials: null });
  });

  it('allows the public URL, the site URL and loopback development origins by default', async () => {
    for (const origin of [byDefault.url, 'https://app.example.com', 'http://localhost:5173', 'http://127.0.0.1:3000']) {
      expect(await corsOf(`${byDefault.auth}/settings`, origin)).toMatchObject({ status: 200, allowOrigin: origin, credentials: 'true' });
      const preflight = await corsOf(`${byDefault.auth}/token`, origin, 'OPTIONS');
      expect(preflight).toMatchObject({ status: 204, allowOrigin: origin, credentials: 'true' });
      expect(preflight.allowHeaders).toMatch(/apikey/);
    }
    // A look-alike of an allowed origin is foreign.
    expect(await corsOf(`${byDefault.auth}/settings`, 'https://app.example.com.evil.example.net')).toMatchObject({ allowOrigin: null });
  });

  it('uses the configured list: credentials for listed origins, * without credentials for the rest', async () => {
    expect(await corsOf(`${configured.auth}/settings`, 'https://console.example.com')).toMatchObject({ allowOrigin: 'https://console.example.com', credentials: 'true' });
    expect(await corsOf(`${configured.auth}/settings`, 'https://evil.example.net')).toMatchObject({ allowOrigin: '*', credentials: null });
    // The public URL is not implied once a list is configured.
    expect(await corsOf(`${configured.auth}/settings`, 'http://localhost:5173')).toMatchObject({ allowOrigin: '*', credentials: null });
  });
});
