import { authenticator } from 'otplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClientCredentialsAuth, LatchkeyApi, MemoryTokenStore, PasswordAuth, TokenEndpointError, TokenManager, TokenSet } from '@latchkey/client';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { email, PASSWORD, startStack, type Stack } from './support.js';

describeEachDatabase('client SDK against the OAuth token endpoint', (database) => {
  let stack: Stack;
  let tokenUrl: string;
  beforeAll(async () => {
    stack = await startStack(database());
    tokenUrl = `${stack.url}/auth/v1/oauth/token`;
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function oauthClient(): Promise<{ id: string; secret: string }> {
    const response = await fetch(`${stack.url}/auth/v1/admin/oauth/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.identity.apiKeys.serviceRoleKey}`, apikey: stack.identity.apiKeys.serviceRoleKey, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'sdk test' }),
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { client_id: string; client_secret: string };
    return { id: body.client_id, secret: body.client_secret };
  }

  it('client credentials: one token request for 1000 callers, and a new grant once the token expires', async () => {
    const { id, secret } = await oauthClient();
    const store = new MemoryTokenStore();
    const manager = new TokenManager(new ClientCredentialsAuth(id, secret), { tokenUrl, store });
    stack.resetCounters();
    const headers = await Promise.all(Array.from({ length: 1000 }, () => manager.authorizationHeader()));
    expect(new Set(headers).size).toBe(1);
    expect(stack.tokenRequests.total).toBe(1);
    const tokens = (await store.load())!;
    expect(tokens.refreshToken).toBeNull();
    const claims = await stack.identity.verifyToken(tokens.accessToken);
    expect(claims).toMatchObject({ sub: id });
    await manager.setTokens(new TokenSet({ ...tokens, accessExpiresAt: Date.now() - 1 }));
    await manager.authorizationHeader(); // (may equal the first token when issued within the same second)
    expect(stack.tokenRequests.total).toBe(2);
    expect((await store.load())!.accessValid(30)).toBe(true);
    const wrong = new TokenManager(new ClientCredentialsAuth(id, 'not-the-secret'), { tokenUrl });
    await expect(wrong.getTokens()).rejects.toMatchObject({ error: 'invalid_client' });
  });

  it('password grant with a TOTP code, then refresh over the same endpoint', async () => {
    const address = email('totp');
    const api = new LatchkeyApi(stack.url, { anonKey: stack.anonKey });
    await api.auth.signUp({ email: address, password: PASSWORD });
    const factor = await api.request<{ id: string; totp: { secret: string } }>('POST', '/auth/v1/factors', { factor_type: 'totp', friendly_name: 'sdk' });
    const challenge = await api.request<{ id: string }>('POST', `/auth/v1/factors/${factor.id}/challenge`, {});
    await api.request('POST', `/auth/v1/factors/${factor.id}/verify`, { challenge_id: challenge.id, code: authenticator.generate(factor.totp.secret) });

    const withoutCode = new TokenManager(new PasswordAuth(address, PASSWORD), { tokenUrl });
    const refused = await withoutCode.getTokens().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TokenEndpointError);
    expect(refused).toMatchObject({ error: 'invalid_grant' });

    // The code of the next 30-second step: the verification above used this step's code.
    const next = authenticator.clone({ epoch: Date.now() + 30_000 }).generate(factor.totp.secret);
    const manager = new TokenManager(new PasswordAuth(address, PASSWORD, { totp: next }), { tokenUrl });
    const tokens = await manager.getTokens();
    expect(await stack.identity.verifyToken(tokens.accessToken)).toMatchObject({ email: address, aal: 'aal2' });
    const refreshed = await manager.forceRefresh();
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    expect(await stack.identity.verifyToken(refreshed.accessToken)).toMatchObject({ aal: 'aal2' });
  });
});
