import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Centrifuge, Subscription } from 'centrifuge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@latchkey/server';
import { createTestDatabase, type TestDatabase } from '../../../../test-support/databases.js';
import { loadGatewaySettings, parseCentrifugoConfig } from '../../src/gateway/index.js';
import { officialClient, once, startGateway, startKeyServer, type GatewayServer, type KeyServer } from './support.js';

const CONFIG = { channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] } };

describe('per-connection channel limit', () => {
  let dir: string;
  let database: TestDatabase;
  let keys: KeyServer;
  let byDefault: GatewayServer;
  let limitedToThree: GatewayServer;
  const clients: Centrifuge[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'latchkey-channel-limit-'));
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify(CONFIG));
    database = await createTestDatabase('pglite');
    keys = await startKeyServer();
    const env = { LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url, LATCHKEY_GATEWAY_CONFIG: file };
    byDefault = await startGateway(database.db, env);
    limitedToThree = await startGateway(database.db, { ...env, LATCHKEY_GATEWAY_CLIENT_CHANNEL_LIMIT: '3' });
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await byDefault?.close();
    await limitedToThree?.close();
    await keys?.close();
    await database?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const connect = async (server: GatewayServer, claims: Record<string, unknown>) => {
    const client = officialClient(server.wsUrl, { token: await keys.mint({ sub: 'limited-user', ...claims }) });
    clients.push(client);
    client.connect();
    await once(client, 'connected');
    return client;
  };
  const outcome = (subscription: Subscription) =>
    new Promise<string>((resolve) => {
      subscription.once('subscribed', () => resolve('subscribed'));
      subscription.once('unsubscribed', (context: { code: number; reason: string }) => resolve(`unsubscribed ${context.code} ${context.reason}`));
    });

  it('takes the limit from client.channel_limit, client_channel_limit (older files) and the environment, 128 by default', () => {
    expect(loadGatewaySettings({}).clientChannelLimit).toBe(128);
    expect(parseCentrifugoConfig({ client: { channel_limit: 5 } }, 'f')).toMatchObject({ channelLimit: 5, unsupported: [] });
    expect(parseCentrifugoConfig({ client_channel_limit: 7 }, 'f')).toMatchObject({ channelLimit: 7, unsupported: [] });
    expect(loadGatewaySettings({ LATCHKEY_GATEWAY_CLIENT_CHANNEL_LIMIT: '0' }).clientChannelLimit).toBe(0);
    expect(() => loadGatewaySettings({ LATCHKEY_GATEWAY_CLIENT_CHANNEL_LIMIT: '-1' })).toThrow(ConfigError);
    expect(() => loadGatewaySettings({ LATCHKEY_GATEWAY_CLIENT_CHANNEL_LIMIT: 'many' })).toThrow(/LATCHKEY_GATEWAY_CLIENT_CHANNEL_LIMIT/);
    expect(() => parseCentrifugoConfig({ client: { channel_limit: 'lots' } }, 'f')).toThrow(/client.channel_limit must be a whole number/);
  });

  it('answers the 129th subscribe of one connection with 106 limit exceeded; a freed place can be used again', async () => {
    const client = await connect(byDefault, {});
    const subscriptions = Array.from({ length: 128 }, (_, n) => client.newSubscription(`chat:room-${n}`));
    const outcomes = subscriptions.map(outcome);
    for (const subscription of subscriptions) subscription.subscribe();
    expect(new Set(await Promise.all(outcomes))).toEqual(new Set(['subscribed']));

    const extra = client.newSubscription('chat:room-128');
    const refused = outcome(extra);
    extra.subscribe();
    expect(await refused).toBe('unsubscribed 106 limit exceeded');
    expect(client.state).toBe('connected');

    subscriptions[0]!.unsubscribe();
    const again = outcome(extra);
    extra.subscribe();
    expect(await again).toBe('subscribed');
    // Another connection has its own 128.
    const other = await connect(byDefault, {});
    const own = other.newSubscription('chat:room-0');
    const ownOutcome = outcome(own);
    own.subscribe();
    expect(await ownOutcome).toBe('subscribed');
  }, 30_000);

  it('counts server-side subscriptions from the token, and closes with 3505 when the token alone exceeds the limit', async () => {
    const client = await connect(limitedToThree, { channels: ['chat:server-1', 'chat:server-2'] });
    const first = client.newSubscription('chat:mine-1');
    const firstOutcome = outcome(first);
    first.subscribe();
    expect(await firstOutcome).toBe('subscribed');
    const second = client.newSubscription('chat:mine-2');
    const secondOutcome = outcome(second);
    second.subscribe();
    expect(await secondOutcome).toBe('unsubscribed 106 limit exceeded');

    const tooMany = officialClient(limitedToThree.wsUrl, { token: await keys.mint({ sub: 'limited-user', channels: ['chat:a1', 'chat:a2', 'chat:a3', 'chat:a4'] }) });
    clients.push(tooMany);
    const disconnected = once<{ code: number; reason: string }>(tooMany, 'disconnected');
    tooMany.connect();
    expect(await disconnected).toMatchObject({ code: 3505, reason: 'channel limit' });
  });
});
