import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { officialClient, once, startGateway, startKeyServer, type GatewayServer, type KeyServer } from './support.js';

describeWith(['REDIS_URL'], 'gateway nodes sharing Redis', () => {
  let database: TestDatabase;
  let keys: KeyServer;
  let nodeA: GatewayServer;
  let nodeB: GatewayServer;
  // A fresh organization per run, so parallel runs against one Redis never meet.
  const org = randomUUID();

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    keys = await startKeyServer();
    // A prefix of this run's own: nodes of other runs on the same Redis are not counted in /api/info.
    const env = { LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url, REDIS_URL: process.env.REDIS_URL ?? '', LATCHKEY_REDIS_PREFIX: `test-${org}` };
    nodeA = await startGateway(database.db, env);
    nodeB = await startGateway(database.db, env);
  });
  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    await keys?.close();
    await database?.dispose();
  });

  it('fans publications, presence, join and disconnects out across nodes', async () => {
    const claims = { app_metadata: { organization_id: org } };
    const onA = officialClient(nodeA.wsUrl, { token: await keys.mint({ ...claims, sub: 'alice' }) });
    const onB = officialClient(nodeB.wsUrl, { token: await keys.mint({ ...claims, sub: 'bob' }) });
    try {
      onA.connect();
      onB.connect();
      const subA = onA.newSubscription(`org:${org}`, { joinLeave: true });
      const subB = onB.newSubscription(`org:${org}`);
      subA.subscribe();
      await once(subA, 'subscribed');
      const joins: string[] = [];
      subA.on('join', (ctx: { info: { user: string } }) => joins.push(ctx.info.user));
      subB.subscribe();
      await once(subB, 'subscribed');
      await expect.poll(() => joins).toContain('bob');

      const gotA = once<{ data: unknown }>(subA, 'publication');
      const gotB = once<{ data: unknown }>(subB, 'publication');
      expect(await nodeB.api('publish', { channel: `org:${org}`, data: { n: 1 } })).toEqual({ status: 200, body: { result: { offset: 1, epoch: expect.any(String) } } });
      expect((await gotA).data).toEqual({ n: 1 });
      expect((await gotB).data).toEqual({ n: 1 });

      const viaExports = once<{ data: unknown }>(subB, 'publication');
      await nodeA.gateway.publish(`org:${org}`, { n: 2 });
      expect((await viaExports).data).toEqual({ n: 2 });

      const presence = await onA.presenceStats(`org:${org}`);
      expect(presence).toEqual({ numClients: 2, numUsers: 2 });
      const apiPresence = await nodeA.api('presence', { channel: `org:${org}` });
      const users = Object.values((apiPresence.body as { result: { presence: Record<string, { user: string }> } }).result.presence).map((entry) => entry.user);
      expect(users.sort()).toEqual(['alice', 'bob']);

      const disconnected = once<{ code: number }>(onB, 'disconnected');
      await nodeA.api('disconnect', { user: 'bob' });
      expect((await disconnected).code).toBe(3503);

      await expect.poll(async () => (await nodeA.api('info', {})).body, { timeout: 8000 }).toMatchObject({ result: { nodes: [expect.anything(), expect.anything()] } });
    } finally {
      onA.disconnect();
      onB.disconnect();
    }
  });
});
