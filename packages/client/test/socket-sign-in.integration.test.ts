import { afterAll, beforeAll, expect, it } from 'vitest';
import { LatchkeyApi, MemoryTokenStore, PasswordAuth, RefreshTokenAuth, TokenEndpointError } from '@latchkey/client';
import { createNodeRealtimeClient } from '@latchkey/client/node';
import type { GatewayExports } from '../../server/src/gateway/index.js';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { email, PASSWORD, startStack, type Stack } from './support.js';

describeEachDatabase('realtime client signing in over the socket', (database) => {
  let stack: Stack;
  let wsUrl: string;
  beforeAll(async () => {
    stack = await startStack(database(), {
      env: { LATCHKEY_JWT_EXPIRY: '4', LATCHKEY_GATEWAY_EXPIRED_CLOSE_DELAY: '1' },
      services: { identity: true, gateway: true },
    });
    wsUrl = `${stack.url.replace(/^http/, 'ws')}/connection/websocket`;
    stack.server.services.gateway!.registerRpc('whoami', (_data, context) => ({ user: context.user }));
  });
  afterAll(async () => {
    await stack?.close();
  });

  const newUser = async (): Promise<{ address: string; id: string }> => {
    const address = email('socket');
    const { user } = await new LatchkeyApi(stack.url, { anonKey: stack.anonKey }).auth.signUp({ email: address, password: PASSWORD });
    return { address, id: user!.id };
  };

  it('obtains its first token with auth.login, connects with it, and refreshes over the socket', async () => {
    const { address, id } = await newUser();
    const store = new MemoryTokenStore();
    const realtime = createNodeRealtimeClient(wsUrl, { provider: new PasswordAuth(address, PASSWORD), store });
    const disconnects: number[] = [];
    realtime.on('disconnected', (code) => disconnects.push(code));
    try {
      realtime.connect();
      await realtime.ready(10_000);
      expect(await realtime.rpc('whoami')).toEqual({ user: id });
      const first = (await store.load())!;
      expect(first.refreshToken).not.toBeNull();
      // The 4-second token is refreshed in-band (auth.refresh on a token-less connection); no disconnect.
      await new Promise((resolve) => setTimeout(resolve, 6500));
      const later = (await store.load())!;
      expect(later.accessToken).not.toBe(first.accessToken);
      expect(later.refreshToken).not.toBe(first.refreshToken);
      expect(await realtime.rpc('whoami')).toEqual({ user: id });
      expect(disconnects).toEqual([]);
    } finally {
      realtime.disconnect();
    }
  });

  it('a wrong password or a spent refresh token is a permanent refusal', async () => {
    const { address } = await newUser();
    const wrong = createNodeRealtimeClient(wsUrl, { provider: new PasswordAuth(address, 'not-the-password') });
    await expect(wrong.manager.login()).rejects.toMatchObject({ status: 400, error: 'invalid_credentials' });
    await expect(wrong.manager.login()).rejects.toBeInstanceOf(TokenEndpointError);
    // Connecting with it stops at once with reauthRequired (no retry loop).
    const reauth = new Promise<Error>((resolve) => wrong.on('reauthRequired', resolve));
    wrong.connect();
    try {
      expect(await reauth).toBeInstanceOf(TokenEndpointError);
    } finally {
      wrong.disconnect();
    }
    const spent = createNodeRealtimeClient(wsUrl, { provider: new RefreshTokenAuth('spent-refresh-token') });
    await expect(spent.manager.login()).rejects.toMatchObject({ status: 400, error: 'refresh_token_not_found' });
  });
});
