import type { Centrifuge } from 'centrifuge';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Database } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { addMember, claimsOf, createOrganization, outcome, refresh, signUp, startStack, type Stack, type User } from './stack.js';
import { officialClient, once, sleep } from './support.js';

const TOKEN_SECONDS = 4;

describeEachDatabase('organization channels checked against the membership tables', (database) => {
  let stack: Stack;
  const clients: Centrifuge[] = [];
  beforeAll(async () => {
    stack = await startStack(database(), {
      LATCHKEY_JWT_EXPIRY: String(TOKEN_SECONDS),
      LATCHKEY_GATEWAY_EXPIRED_CLOSE_DELAY: '2',
      LATCHKEY_GATEWAY_MEMBERSHIP_CACHE_TTL: '1',
    });
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** The official client with the user's token; `getToken` refreshes the session like our SDK does. */
  const realtime = async (user: User): Promise<{ client: Centrifuge; refreshes: () => number }> => {
    let refreshes = 0;
    const client = officialClient(stack.wsUrl, {
      token: user.access,
      getToken: async () => {
        refreshes += 1;
        return refresh(stack, user);
      },
    });
    clients.push(client);
    client.connect();
    await once(client, 'connected');
    return { client, refreshes: () => refreshes };
  };
  const subscribe = async (client: Centrifuge, channel: string) => {
    const subscription = client.newSubscription(channel);
    const result = outcome(subscription);
    subscription.subscribe();
    return { subscription, outcome: await result };
  };
  const db = (): Database => database();

  it('refuses subscribe and presence to a user whose token claims the organization without a membership', async () => {
    const owner = await signUp(stack, 'owner');
    const organization = await createOrganization(stack, owner);
    // An admin sets the claim on a user who is no member: the token carries it, the tables do not.
    const stranger = await signUp(stack, 'stranger');
    const updated = await fetch(`${stack.url}/auth/v1/admin/users/${stranger.id}`, {
      method: 'PUT',
      headers: { apikey: stack.serviceRoleKey, authorization: `Bearer ${stack.serviceRoleKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ app_metadata: { organization_id: organization } }),
    });
    expect(updated.status).toBe(200);
    await refresh(stack, stranger);
    expect(claimsOf(stranger.access).app_metadata?.organization_id).toBe(organization);

    const { client } = await realtime(stranger);
    expect((await subscribe(client, `org:${organization}`)).outcome).toBe('unsubscribed 103 permission denied');
    await expect(client.presenceStats(`org:${organization}`)).rejects.toMatchObject({ code: 103 });
    await expect(client.presence(`org:${organization}`)).rejects.toMatchObject({ code: 103 });

    const { client: ownerClient } = await realtime(owner);
    expect((await subscribe(ownerClient, `org:${organization}`)).outcome).toBe('subscribed');
    expect(await ownerClient.presenceStats(`org:${organization}`)).toEqual({ numClients: 1, numUsers: 1 });
  });

  it('stops answering presence once the membership row is gone, after the cache time at most', async () => {
    const owner = await signUp(stack, 'owner');
    const organization = await createOrganization(stack, owner);
    const member = await signUp(stack);
    await addMember(db(), stack, organization, member);
    expect(claimsOf(member.access).app_metadata?.organization_id).toBe(organization);

    const { client } = await realtime(member);
    expect((await subscribe(client, `org:${organization}`)).outcome).toBe('subscribed');
    expect(await client.presenceStats(`org:${organization}`)).toEqual({ numClients: 1, numUsers: 1 });
    // Removed behind the service's back (no event): the token still names the organization.
    await db().query('delete from auth.organization_members where organization_id = $1 and user_id = $2', [organization, member.id]);
    await sleep(1100);
    await expect(client.presenceStats(`org:${organization}`)).rejects.toMatchObject({ code: 103 });
    await expect(client.presence(`org:${organization}`)).rejects.toMatchObject({ code: 103 });
  });

  it('ends the organization subscription (unsubscribe 2001) when a refreshed token without the organization arrives in-band', async () => {
    const owner = await signUp(stack, 'owner');
    const organization = await createOrganization(stack, owner);
    const member = await signUp(stack);
    await addMember(db(), stack, organization, member);

    const { client, refreshes } = await realtime(member);
    const log: string[] = [];
    client.on('disconnected', (context) => log.push(`disconnected ${context.code}`));
    client.on('connecting', (context) => log.push(`connecting ${context.code}`));
    const { subscription, outcome: subscribed } = await subscribe(client, `org:${organization}`);
    expect(subscribed).toBe('subscribed');
    const ended = once<{ code: number; reason: string }>(subscription, 'unsubscribed', (TOKEN_SECONDS + 5) * 1000);
    await db().query('delete from auth.organization_members where organization_id = $1 and user_id = $2', [organization, member.id]);

    expect(await ended).toMatchObject({ code: 2001, reason: 'membership ended' });
    expect(refreshes()).toBe(1);
    expect(claimsOf(member.access).app_metadata?.organization_id).toBeUndefined();
    // The refresh went in-band: the connection stayed up.
    expect(log).toEqual([]);
    expect(client.state).toBe('connected');
  }, 20_000);
});
