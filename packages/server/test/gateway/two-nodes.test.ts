import { randomUUID } from 'node:crypto';
import type { Centrifuge } from 'centrifuge';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { addMember, call, createOrganization, outcome, signUp, startStack, type Stack } from './stack.js';
import { officialClient, once, sleep } from './support.js';

/** How long the other node may take to act on an event. */
const WITHIN_MS = 1000;

describeWith(['DATABASE_URL', 'REDIS_URL'], 'gateway acting on revocation events across two nodes (PostgreSQL + Redis)', () => {
  let database: TestDatabase;
  let nodeA: Stack;
  let nodeB: Stack;
  const clients: Centrifuge[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    // A prefix of this run's own: other runs on the same Redis never see these events.
    // One issuer for both nodes, as behind one public address: a token from either works on both.
    const env = { REDIS_URL: process.env.REDIS_URL ?? '', LATCHKEY_REDIS_PREFIX: `test-${randomUUID()}`, LATCHKEY_JWT_ISSUER: 'http://latchkey.test/auth/v1' };
    nodeA = await startStack(database.db, env);
    nodeB = await startStack(database.db, env);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    await database?.dispose();
  });

  const connected = async (node: Stack, token: string) => {
    const client = officialClient(node.wsUrl, { token });
    clients.push(client);
    client.connect();
    await once(client, 'connected');
    return client;
  };
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${nodeA.url}/auth/v1/admin${path}`, {
      method,
      headers: { apikey: nodeA.serviceRoleKey, authorization: `Bearer ${nodeA.serviceRoleKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  /** Runs `change` on node A and measures until `client` (on node B) is disconnected. */
  const closedOnB = async (client: Centrifuge, change: () => Promise<unknown>) => {
    const disconnected = once<{ code: number; reason: string }>(client, 'disconnected');
    const started = performance.now();
    await change();
    const context = await disconnected;
    return { ...context, ms: performance.now() - started };
  };

  it('ends the organization channel of a member removed on the other node (2001 within 1 s): no more publications, no presence', async () => {
    const owner = await signUp(nodeA, 'owner');
    const organization = await createOrganization(nodeA, owner);
    const member = await signUp(nodeA);
    await addMember(database.db, nodeA, organization, member);
    const channel = `org:${organization}`;

    const ownerClient = await connected(nodeA, owner.access);
    const ownerSub = ownerClient.newSubscription(channel);
    const ownerSubscribed = outcome(ownerSub);
    ownerSub.subscribe();
    expect(await ownerSubscribed).toBe('subscribed');
    const memberClient = await connected(nodeB, member.access);
    const memberSub = memberClient.newSubscription(channel);
    const memberSubscribed = outcome(memberSub);
    memberSub.subscribe();
    expect(await memberSubscribed).toBe('subscribed');
    const memberGot: unknown[] = [];
    memberSub.on('publication', (context: { data: unknown }) => memberGot.push(context.data));
    const before = once(ownerSub, 'publication');
    await nodeA.gateway.publish(channel, { n: 1 });
    await before;
    await expect.poll(() => memberGot).toEqual([{ n: 1 }]);
    await expect.poll(() => ownerClient.presenceStats(channel)).toEqual({ numClients: 2, numUsers: 2 });

    const ended = once<{ code: number; reason: string }>(memberSub, 'unsubscribed');
    const started = performance.now();
    const removed = await call(nodeA, 'DELETE', `/organizations/${organization}/members/${member.id}`, { token: owner.access });
    expect(removed.status).toBe(204);
    expect(await ended).toMatchObject({ code: 2001, reason: 'membership ended' });
    expect(performance.now() - started).toBeLessThan(WITHIN_MS);

    const after = once(ownerSub, 'publication');
    await nodeA.gateway.publish(channel, { n: 2 });
    await after;
    await sleep(200);
    expect(memberGot).toEqual([{ n: 1 }]);
    await expect(memberClient.presenceStats(channel)).rejects.toMatchObject({ code: 103 });
    await expect(memberClient.presence(channel)).rejects.toMatchObject({ code: 103 });
    await expect.poll(() => ownerClient.presenceStats(channel)).toEqual({ numClients: 1, numUsers: 1 });
    expect(memberClient.state).toBe('connected');
  });

  it('closes the sockets on the other node with 4501 within 1 s after a global logout, a ban and a deletion', async () => {
    const loggedOut = await signUp(nodeA, 'logout');
    const banned = await signUp(nodeA, 'banned');
    const deleted = await signUp(nodeA, 'deleted');
    const onA = await connected(nodeA, loggedOut.access);
    const onB = await connected(nodeB, loggedOut.access);
    const bannedOnB = await connected(nodeB, banned.access);
    const deletedOnB = await connected(nodeB, deleted.access);

    const closedA = once<{ code: number }>(onA, 'disconnected');
    const logout = await closedOnB(onB, async () => {
      const response = await call(nodeA, 'POST', '/logout?scope=global', { token: loggedOut.access });
      expect(response.status).toBe(204);
    });
    expect(logout).toMatchObject({ code: 4501, reason: 'session ended' });
    expect(logout.ms).toBeLessThan(WITHIN_MS);
    expect((await closedA).code).toBe(4501);

    const ban = await closedOnB(bannedOnB, async () => {
      expect((await admin('PUT', `/users/${banned.id}`, { ban_duration: '24h' })).status).toBe(200);
    });
    expect(ban).toMatchObject({ code: 4501 });
    expect(ban.ms).toBeLessThan(WITHIN_MS);

    const deletion = await closedOnB(deletedOnB, async () => {
      expect((await admin('DELETE', `/users/${deleted.id}`)).status).toBe(200);
    });
    expect(deletion).toMatchObject({ code: 4501 });
    expect(deletion.ms).toBeLessThan(WITHIN_MS);

    // The other node refuses the old tokens at connect too.
    for (const token of [loggedOut.access, banned.access, deleted.access]) {
      const client = officialClient(nodeB.wsUrl, { token });
      clients.push(client);
      const refused = once<{ code: number }>(client, 'disconnected');
      client.connect();
      expect((await refused).code).toBe(4501);
    }
  });
});
