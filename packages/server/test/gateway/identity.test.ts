import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadServerConfig, startServer, type RunningServer } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import type { GatewayExports } from '../../src/gateway/index.js';
import { TEST_ENV } from '../identity/support.js';
import { officialClient, once } from './support.js';

interface Session {
  access_token: string;
  refresh_token: string;
  user: { id: string };
}

describeEachDatabase('gateway with tokens from the identity service', (database) => {
  let server: RunningServer;
  let anonKey: string;
  beforeAll(async () => {
    server = await startServer({
      env: { ...TEST_ENV },
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      database: database(),
      services: { identity: true, gateway: true },
    });
    anonKey = server.services.identity!.apiKeys.anonKey;
    const gateway = server.services.gateway!;
    gateway.registerRpc('whoami', (_data, context) => ({ user: context.user, role: context.claims?.role }));
  });
  afterAll(async () => {
    await server?.close();
  });

  const auth = async (path: string, body: unknown): Promise<Session> => {
    const response = await fetch(`${server.url}/auth/v1${path}`, {
      method: 'POST',
      headers: { apikey: anonKey, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Session;
  };

  it('connects with an access token from /signup and /token, verified through the JWKS', async () => {
    const email = `gw-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}@example.com`;
    const signedUp = await auth('/signup', { email, password: 'correct-horse-1' });
    const session = await auth('/token?grant_type=password', { email, password: 'correct-horse-1' });
    expect(session.user.id).toBe(signedUp.user.id);
    let refreshToken = session.refresh_token;
    const centrifuge = officialClient(`${server.url.replace(/^http/, 'ws')}/connection/websocket`, {
      token: session.access_token,
      getToken: async () => {
        const next = await auth('/token?grant_type=refresh_token', { refresh_token: refreshToken });
        refreshToken = next.refresh_token;
        return next.access_token;
      },
    });
    try {
      centrifuge.connect();
      await once(centrifuge, 'connected');
      expect((await centrifuge.rpc('whoami', {})).data).toEqual({ user: session.user.id, role: 'authenticated' });
      const own = centrifuge.newSubscription(`user:#${session.user.id}`);
      const publication = once<{ data: unknown }>(own, 'publication');
      own.subscribe();
      await once(own, 'subscribed');
      await server.services.gateway!.publish(`user:#${session.user.id}`, { hello: email });
      expect((await publication).data).toEqual({ hello: email });
    } finally {
      centrifuge.disconnect();
    }
  });
});
