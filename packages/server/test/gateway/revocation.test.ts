import type { Centrifuge } from 'centrifuge';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { addMember, call, claimsOf, createOrganization, outcome, refresh, signUp, startStack, type Stack, type User } from './stack.js';
import { officialClient, once } from './support.js';

/** How long a node may take to act on an event. */
const WITHIN_MS = 1000;
/** Signs the subscription tokens a backend would hand out. */
const SUBSCRIPTION_SECRET = 'subscription-secret-for-revocation-tests-0123456789';

describeEachDatabase('gateway acting on revocation events', (database) => {
  let stack: Stack;
  const clients: Centrifuge[] = [];
  beforeAll(async () => {
    stack = await startStack(database(), { LATCHKEY_GATEWAY_SUBSCRIPTION_TOKEN_HMAC_SECRET: SUBSCRIPTION_SECRET });
    stack.gateway.registerRpc('claims', (_data, context) => ({ app_metadata: context.claims?.app_metadata ?? null }));
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** The official client with `token`; with `user`, `getToken` refreshes that user's session like our SDK does. */
  const realtime = (token: string, user?: User) => {
    let refreshes = 0;
    const client = officialClient(stack.wsUrl, {
      token,
      ...(user
        ? {
            getToken: async () => {
              refreshes += 1;
              return refresh(stack, user);
            },
          }
        : {}),
    });
    clients.push(client);
    return { client, refreshes: () => refreshes };
  };
  const connected = async (token: string, user?: User) => {
    const made = realtime(token, user);
    made.client.connect();
    await once(made.client, 'connected');
    return made;
  };
  /** Milliseconds from `action` until `event` is emitted by `emitter`. */
  const timed = async <T>(emitter: { once(event: string, listener: (value: T) => void): unknown }, event: string, action: () => Promise<unknown>) => {
    const happened = once<T>(emitter, event);
    const started = performance.now();
    await action();
    const value = await happened;
    return { value, ms: performance.now() - started };
  };

  it('closes the connections of an ended session with 4501 at once, and refuses its tokens at connect with 4501', async () => {
    const user = await signUp(stack, 'sessions');
    const first = { ...user };
    const second = await call(stack, 'POST', '/token?grant_type=password', { body: { email: user.email, password: 'correct-horse-battery-1' } });
    const secondToken = second.body.access_token as string;
    const { client: onFirst } = await connected(first.access);
    const { client: onSecond } = await connected(secondToken);

    // The user ends their first session from the session list, signed in with the second.
    const closed = await timed<{ code: number; reason: string }>(onFirst, 'disconnected', async () => {
      const ended = await call(stack, 'DELETE', `/sessions/${claimsOf(first.access).session_id!}`, { token: secondToken });
      expect(ended.status).toBe(204);
    });
    expect(closed.value).toMatchObject({ code: 4501, reason: 'session ended' });
    expect(closed.ms).toBeLessThan(WITHIN_MS);
    expect(onSecond.state).toBe('connected');

    const { client: again } = realtime(first.access);
    const refused = once<{ code: number; reason: string }>(again, 'disconnected');
    again.connect();
    expect(await refused).toMatchObject({ code: 4501, reason: 'session ended' });

    const banned = await timed<{ code: number }>(onSecond, 'disconnected', async () => {
      const response = await fetch(`${stack.url}/auth/v1/admin/users/${user.id}`, {
        method: 'PUT',
        headers: { apikey: stack.serviceRoleKey, authorization: `Bearer ${stack.serviceRoleKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ban_duration: '1h' }),
      });
      expect(response.status).toBe(200);
    });
    expect(banned.value.code).toBe(4501);
    expect(banned.ms).toBeLessThan(WITHIN_MS);
  });

  it('ends a removed member’s organization channel with unsubscribe 2001; presence and subscribe are refused; the old token gets 109 and the client returns without the organization', async () => {
    const owner = await signUp(stack, 'owner');
    const organization = await createOrganization(stack, owner);
    const member = await signUp(stack);
    await addMember(database(), stack, organization, member);
    const beforeRemoval = member.access;
    expect(claimsOf(beforeRemoval).app_metadata?.organization_id).toBe(organization);

    const { client } = await connected(member.access, member);
    const channel = `org:${organization}`;
    const subscription = client.newSubscription(channel);
    const subscribed = outcome(subscription);
    subscription.subscribe();
    expect(await subscribed).toBe('subscribed');
    expect(await client.presenceStats(channel)).toEqual({ numClients: 1, numUsers: 1 });

    const ended = await timed<{ code: number; reason: string }>(subscription, 'unsubscribed', async () => {
      const removed = await call(stack, 'DELETE', `/organizations/${organization}/members/${member.id}`, { token: owner.access });
      expect(removed.status).toBe(204);
    });
    expect(ended.value).toMatchObject({ code: 2001, reason: 'membership ended' });
    expect(ended.ms).toBeLessThan(WITHIN_MS);
    expect(client.state).toBe('connected');
    await expect(client.presenceStats(channel)).rejects.toMatchObject({ code: 103 });
    const retry = outcome(subscription);
    subscription.subscribe();
    expect(await retry).toBe('unsubscribed 103 permission denied');

    // A reconnect with the token from before the removal: 109, the client fetches a new token and comes back.
    const errors: number[] = [];
    const { client: returning, refreshes } = realtime(beforeRemoval, member);
    returning.on('error', (context: { error: { code: number } }) => errors.push(context.error.code));
    returning.connect();
    await once(returning, 'connected');
    expect(errors).toEqual([109]);
    expect(refreshes()).toBe(1);
    expect((await returning.rpc('claims', {})).data).toMatchObject({ app_metadata: { provider: 'email' } });
    expect(((await returning.rpc('claims', {})).data as { app_metadata: Record<string, unknown> }).app_metadata.organization_id).toBeUndefined();
  });

  it('ends a removed member’s organization channel granted by a subscription token on a connection whose token names no organization', async () => {
    const owner = await signUp(stack, 'owner');
    const organization = await createOrganization(stack, owner);
    const member = await signUp(stack);
    const withoutOrganization = member.access;
    await addMember(database(), stack, organization, member);
    expect(claimsOf(withoutOrganization).app_metadata?.organization_id).toBeUndefined();

    const { client } = await connected(withoutOrganization);
    const channel = `org:${organization}`;
    const token = await new SignJWT({ sub: member.id, channel })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(SUBSCRIPTION_SECRET));
    const subscription = client.newSubscription(channel, { token });
    const subscribed = outcome(subscription);
    subscription.subscribe();
    expect(await subscribed).toBe('subscribed');

    const ended = await timed<{ code: number; reason: string }>(subscription, 'unsubscribed', async () => {
      const removed = await call(stack, 'DELETE', `/organizations/${organization}/members/${member.id}`, { token: owner.access });
      expect(removed.status).toBe(204);
    });
    expect(ended.value).toMatchObject({ code: 2001, reason: 'membership ended' });
    expect(ended.ms).toBeLessThan(WITHIN_MS);
    expect(client.state).toBe('connected');
  });

  it('ends every member’s organization channel when the organization is deleted', async () => {
    const owner = await signUp(stack, 'owner');
    const organization = await createOrganization(stack, owner);
    const { client } = await connected(owner.access, owner);
    const subscription = client.newSubscription(`org:${organization}`);
    const subscribed = outcome(subscription);
    subscription.subscribe();
    expect(await subscribed).toBe('subscribed');
    const ended = await timed<{ code: number }>(subscription, 'unsubscribed', async () => {
      const deleted = await call(stack, 'DELETE', `/organizations/${organization}`, { token: owner.access });
      expect(deleted.status).toBe(204);
    });
    expect(ended.value.code).toBe(2001);
    expect(ended.ms).toBeLessThan(WITHIN_MS);
  });

  it('makes the client of a member whose role changed fetch a new token (3014) and checks its channels again on the new claims', async () => {
    const owner = await signUp(stack, 'owner');
    const organization = await createOrganization(stack, owner);
    const member = await signUp(stack);
    await addMember(database(), stack, organization, member);
    const { client, refreshes } = await connected(member.access, member);
    const subscription = client.newSubscription(`org:${organization}`);
    const subscribed = outcome(subscription);
    subscription.subscribe();
    expect(await subscribed).toBe('subscribed');
    expect((await client.rpc('claims', {})).data).toMatchObject({ app_metadata: { organization_id: organization, org_role: 'member' } });
    const log: string[] = [];
    client.on('connecting', (context: { code: number }) => log.push(`connecting ${context.code}`));
    subscription.on('subscribing', (context: { code: number }) => log.push(`subscribing ${context.code}`));
    subscription.on('subscribed', () => log.push('subscribed'));

    const back = once(client, 'connected');
    const changed = await call(stack, 'PATCH', `/organizations/${organization}/members/${member.id}`, { token: owner.access, body: { role: 'admin' } });
    expect(changed.status).toBe(200);
    await back;
    await expect.poll(() => subscription.state).toBe('subscribed');
    expect(log).toContain('connecting 3014');
    expect(log).toContain('subscribed');
    expect(refreshes()).toBeGreaterThanOrEqual(1);
    expect(claimsOf(member.access).app_metadata?.org_role).toBe('admin');
    expect((await client.rpc('claims', {})).data).toMatchObject({ app_metadata: { organization_id: organization, org_role: 'admin' } });
  });
});
