import { afterAll, beforeAll, expect, it } from 'vitest';
import { LatchkeyApi, MemoryTokenStore, TokenSet, type RealtimeClient } from '@latchkey/client';
import { createNodeRealtimeClient } from '@latchkey/client/node';
import type { GatewayExports } from '../../server/src/gateway/index.js';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { email, PASSWORD, startStack, type Stack } from './support.js';

const TOKEN_SECONDS = 4;

function waitFor<T>(check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const value = check();
      if (value !== undefined && value !== false) return resolve(value);
      if (Date.now() - started > timeoutMs) return reject(new Error('timed out'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describeEachDatabase('realtime client against the gateway', (database) => {
  let stack: Stack;
  const start = (port?: number) =>
    startStack(database(), {
      port,
      env: { LATCHKEY_JWT_EXPIRY: String(TOKEN_SECONDS), LATCHKEY_GATEWAY_EXPIRED_CLOSE_DELAY: '1' },
      services: { identity: true, gateway: true },
    });
  const gateway = () => stack.server.services.gateway!;
  beforeAll(async () => {
    stack = await start();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function session(store = new MemoryTokenStore()): Promise<{ api: LatchkeyApi; userId: string; address: string }> {
    const api = new LatchkeyApi(stack.url, { anonKey: stack.anonKey, store, expirySkew: 1 });
    const address = email('rt');
    const { user } = await api.auth.signUp({ email: address, password: PASSWORD });
    return { api, userId: user!.id, address };
  }

  function watch(client: RealtimeClient) {
    const log: string[] = [];
    client.on('connected', () => log.push('connected'));
    client.on('disconnected', (code) => log.push(`disconnected ${code}`));
    client.on('reauthRequired', (error) => log.push(`reauth ${error.message}`));
    client.centrifuge.on('connecting', (ctx) => log.push(`connecting ${ctx.code}`));
    return log;
  }

  it('stays subscribed across 3 token rotations without a disconnect', async () => {
    const { api, userId } = await session();
    let rotations = 0;
    api.tokens.on('refreshed', () => (rotations += 1));
    const client = createNodeRealtimeClient(`${stack.url.replace(/^http/, 'ws')}/connection/websocket`, api.tokens);
    const log = watch(client);
    const received: unknown[] = [];
    const channel = `user:#${userId}`;
    const subscription = client.subscribe<{ n: number }>(channel, (data) => received.push(data));
    const subscriptionLog: string[] = [];
    subscription.on('unsubscribed', (ctx) => subscriptionLog.push(`unsubscribed ${ctx.code}`));
    subscription.on('subscribing', (ctx) => subscriptionLog.push(`subscribing ${ctx.code}`));
    client.connect();
    try {
      await client.ready(10_000);
      await waitFor(() => subscription.state === 'subscribed');
      subscriptionLog.length = 0; // the initial subscribing
      for (let n = 1; n <= 3; n++) {
        const before = rotations;
        await waitFor(() => rotations > before, (TOKEN_SECONDS + 5) * 1000);
        await new Promise((resolve) => setTimeout(resolve, 300)); // let the refresh command land
        await gateway().publish(channel, { n });
        await waitFor(() => received.length === n);
      }
      expect(received).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
      expect(rotations).toBeGreaterThanOrEqual(3);
      expect(log).toEqual(['connecting 0', 'connected']);
      expect(subscriptionLog).toEqual([]);
      gateway().registerRpc('sdk.echo', (data) => ({ echoed: data }));
      expect(await client.rpc<{ echoed: unknown }>('sdk.echo', { after: 'rotations' })).toEqual({ echoed: { after: 'rotations' } });
    } finally {
      client.disconnect();
    }
  }, 60_000);

  it('forces one refresh after an invalid-token close (3500) and reconnects', async () => {
    const { api } = await session();
    const current = (await api.tokens.peek())!;
    await api.tokens.setTokens(new TokenSet({ ...current, accessToken: 'not-a-jwt', accessExpiresAt: Date.now() + 3_600_000 }));
    const client = createNodeRealtimeClient(`${stack.url.replace(/^http/, 'ws')}/connection/websocket`, api.tokens, {
      centrifuge: { minReconnectDelay: 50, maxReconnectDelay: 200 },
    });
    const log = watch(client);
    client.connect();
    try {
      await waitFor(() => log.includes('connected'));
      expect(log.filter((entry) => entry.startsWith('disconnected'))).toEqual(['disconnected 3500']);
      expect((await api.tokens.peek())!.accessToken).not.toBe('not-a-jwt');
    } finally {
      client.disconnect();
    }
  });

  it('answers error 109 (expired at connect) with a refresh, even when the local clock thinks the token is fine', async () => {
    const { api } = await session();
    const stale = (await api.tokens.peek())!;
    await new Promise((resolve) => setTimeout(resolve, (TOKEN_SECONDS + 1) * 1000)); // expired for the gateway
    await api.tokens.setTokens(new TokenSet({ ...stale, accessExpiresAt: Date.now() + 3_600_000 })); // a client clock running behind
    const client = createNodeRealtimeClient(`${stack.url.replace(/^http/, 'ws')}/connection/websocket`, api.tokens, {
      centrifuge: { minReconnectDelay: 50, maxReconnectDelay: 200 },
    });
    const errors: number[] = [];
    client.centrifuge.on('error', (ctx) => errors.push(ctx.error.code));
    client.connect();
    try {
      await client.ready(15_000);
      expect(errors).toEqual([109]);
      expect((await api.tokens.peek())!.accessToken).not.toBe(stale.accessToken);
    } finally {
      client.disconnect();
    }
  }, 30_000);

  it('reports re-authentication when the session is gone', async () => {
    const { api } = await session();
    await api.tokens.setTokens(new TokenSet({ accessToken: 'not-a-jwt', accessExpiresAt: Date.now() + 3_600_000, refreshToken: 'revoked-or-unknown' }));
    const client = createNodeRealtimeClient(`${stack.url.replace(/^http/, 'ws')}/connection/websocket`, api.tokens);
    const log = watch(client);
    client.connect();
    try {
      const reauth = await waitFor(() => log.find((entry) => entry.startsWith('reauth')));
      expect(reauth).toMatch(/session has ended \(refresh_token_not_found\)/);
      expect(await api.tokens.peek()).toBeNull();
    } finally {
      client.disconnect();
    }
  });

  it('treats a session-ended close (4501) as "sign in again": reauthRequired, no reconnect, tokens left alone; connect() after signing in joins with the new session', async () => {
    const { api, address } = await session();
    const client = createNodeRealtimeClient(`${stack.url.replace(/^http/, 'ws')}/connection/websocket`, api.tokens, {
      centrifuge: { minReconnectDelay: 50, maxReconnectDelay: 200 },
    });
    const log = watch(client);
    client.connect();
    try {
      await client.ready(10_000);
      const before = (await api.tokens.peek())!;
      // Signed out everywhere from another device: the gateway closes this connection with 4501.
      const logout = await fetch(`${stack.url}/auth/v1/logout?scope=global`, {
        method: 'POST',
        headers: { apikey: stack.anonKey, authorization: `Bearer ${before.accessToken}` },
      });
      expect(logout.status).toBe(204);
      const reauth = await waitFor(() => log.find((entry) => entry.startsWith('reauth')));
      expect(reauth).toBe('reauth the gateway ended the session (session ended)');
      await new Promise((resolve) => setTimeout(resolve, 500)); // time enough for a reconnect, were one coming
      expect(log).toEqual(['connecting 0', 'connected', 'disconnected 4501', reauth]);
      expect(client.centrifuge.state).toBe('disconnected');
      // Nothing else is cleared: the token manager decides what the ended session means for its tokens.
      expect((await api.tokens.peek())!.refreshToken).toBe(before.refreshToken);

      // Signed in again: connect() uses the new session's token, not the ended one.
      await api.auth.login({ email: address, password: PASSWORD });
      client.connect();
      await client.ready(10_000);
      expect(log.slice(4)).toEqual(['connecting 0', 'connected']);
    } finally {
      client.disconnect();
    }
  });

  it('reconnects and resubscribes after the gateway restarts', async () => {
    const { api, userId } = await session();
    const client = createNodeRealtimeClient(`${stack.url.replace(/^http/, 'ws')}/connection/websocket`, api.tokens, {
      centrifuge: { minReconnectDelay: 100, maxReconnectDelay: 500 },
    });
    const received: unknown[] = [];
    const channel = `user:#${userId}`;
    const subscription = client.subscribe(channel, (data) => received.push(data));
    client.connect();
    try {
      await waitFor(() => subscription.state === 'subscribed');
      const port = Number(new URL(stack.url).port);
      await stack.close();
      await waitFor(() => client.centrifuge.state === 'connecting');
      stack = await start(port);
      await waitFor(() => client.centrifuge.state === 'connected' && subscription.state === 'subscribed', 20_000);
      await gateway().publish(channel, { after: 'restart' });
      await waitFor(() => received.length === 1);
      expect(received).toEqual([{ after: 'restart' }]);
    } finally {
      client.disconnect();
    }
  }, 60_000);
});
