import { randomBytes } from 'node:crypto';
import type { SupabaseClient } from '@supabase/supabase-js';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig, startServer, type RevocationEvent, type RunningServer } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { TEST_ENV, email, startIdentity, supabaseClient, type IdentityServer } from '../identity/support.js';
import { listen, onlyEventOf, sessionOf, stored, userWith } from './support.js';

const PASSWORD = 'correct-horse-1';

describeEachDatabase('session end writes one revocation event', (database) => {
  let app: IdentityServer;
  let received: RevocationEvent[];
  beforeAll(async () => {
    app = await startIdentity(database());
    received = listen(app.server);
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Signs a new user up and in on `count` devices. */
  async function devices(count: number): Promise<SupabaseClient[]> {
    const address = email();
    expect((await app.client().auth.signUp({ email: address, password: PASSWORD })).error).toBeNull();
    const clients: SupabaseClient[] = [];
    for (let i = 0; i < count; i += 1) {
      const client = app.client();
      expect((await client.auth.signInWithPassword({ email: address, password: PASSWORD })).error).toBeNull();
      clients.push(client);
    }
    return clients;
  }

  const ofUser = (userId: string) => (event: RevocationEvent) => event.user_id === userId;

  describe('logout', () => {
    it('local: the one session', async () => {
      const [a, b] = await devices(2);
      const sa = await sessionOf(a!);
      const sb = await sessionOf(b!);
      const before = Math.floor(Date.now() / 1000);
      expect((await a!.auth.signOut({ scope: 'local' })).error).toBeNull();
      const event = await onlyEventOf(app.server, received, ofUser(sa.userId));
      expect(event).toMatchObject({ kind: 'logout', user_id: sa.userId, session_ids: [sa.sessionId], organization_id: null, client_id: null });
      expect(event.issued_before).toBeGreaterThanOrEqual(before);
      expect(event.issued_before).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
      expect(event.expires_at).toBe(event.issued_before + 3600 + 60);
      expect(await userWith(app.auth, app.anonKey, sa.token)).toEqual({ status: 403, code: 'session_not_found' });
      expect((await userWith(app.auth, app.anonKey, sb.token)).status).toBe(200);
    });

    it('others: every session but the current one', async () => {
      const [a, b, c] = await devices(3);
      const [sa, sb, sc] = await Promise.all([sessionOf(a!), sessionOf(b!), sessionOf(c!)]);
      expect((await a!.auth.signOut({ scope: 'others' })).error).toBeNull();
      const event = await onlyEventOf(app.server, received, ofUser(sa.userId));
      expect(event).toMatchObject({ kind: 'logout', user_id: sa.userId });
      // The sign-up's session, b and c; never a.
      expect(event.session_ids).toEqual(expect.arrayContaining([sb.sessionId, sc.sessionId]));
      expect(event.session_ids).toHaveLength(3);
      expect(event.session_ids).not.toContain(sa.sessionId);
      expect((await userWith(app.auth, app.anonKey, sa.token)).status).toBe(200);
      expect(await userWith(app.auth, app.anonKey, sb.token)).toEqual({ status: 403, code: 'session_not_found' });
      expect(await userWith(app.auth, app.anonKey, sc.token)).toEqual({ status: 403, code: 'session_not_found' });
    });

    it('global: every session of the user, and nothing when the only session is already gone', async () => {
      const [a, b] = await devices(2);
      const [sa, sb] = await Promise.all([sessionOf(a!), sessionOf(b!)]);
      const signedUp = (await stored(app.server, ofUser(sa.userId))).length;
      expect(signedUp).toBe(0);
      expect((await a!.auth.signOut()).error).toBeNull();
      const event = await onlyEventOf(app.server, received, ofUser(sa.userId));
      // The sign-up opened a session too.
      expect(event.kind).toBe('logout');
      expect(event.session_ids).toEqual(expect.arrayContaining([sa.sessionId, sb.sessionId]));
      expect(event.session_ids).toHaveLength(3);
      expect(await userWith(app.auth, app.anonKey, sb.token)).toEqual({ status: 403, code: 'session_not_found' });
      // A second logout with the dead token is refused and writes nothing.
      const again = await fetch(`${app.auth}/logout`, { method: 'POST', headers: { apikey: app.anonKey, authorization: `Bearer ${sb.token}` } });
      expect(again.status).toBe(403);
      await onlyEventOf(app.server, received, ofUser(sa.userId));
    });
  });

  describe('admin', () => {
    it('a ban selects the user; lifting it writes nothing', async () => {
      const [a] = await devices(1);
      const sa = await sessionOf(a!);
      const admin = app.admin().auth.admin;
      expect((await admin.updateUserById(sa.userId, { ban_duration: '1h' })).error).toBeNull();
      const event = await onlyEventOf(app.server, received, ofUser(sa.userId));
      expect(event).toMatchObject({ kind: 'user_banned', user_id: sa.userId, session_ids: null, organization_id: null, client_id: null });
      expect(await userWith(app.auth, app.anonKey, sa.token)).toEqual({ status: 403, code: 'user_banned' });
      expect((await admin.updateUserById(sa.userId, { ban_duration: 'none' })).error).toBeNull();
      expect((await admin.updateUserById(sa.userId, { user_metadata: { n: 1 } })).error).toBeNull();
      await onlyEventOf(app.server, received, ofUser(sa.userId));
    });

    it('a hard deletion selects the user', async () => {
      const [a] = await devices(1);
      const sa = await sessionOf(a!);
      expect((await app.admin().auth.admin.deleteUser(sa.userId)).error).toBeNull();
      const event = await onlyEventOf(app.server, received, ofUser(sa.userId));
      expect(event).toMatchObject({ kind: 'user_deleted', user_id: sa.userId, session_ids: null });
      expect(await userWith(app.auth, app.anonKey, sa.token)).toEqual({ status: 403, code: 'user_not_found' });
    });

    it('a soft deletion selects the user, once', async () => {
      const [a] = await devices(1);
      const sa = await sessionOf(a!);
      const admin = app.admin().auth.admin;
      expect((await admin.deleteUser(sa.userId, true)).error).toBeNull();
      const event = await onlyEventOf(app.server, received, ofUser(sa.userId));
      expect(event).toMatchObject({ kind: 'user_deleted', user_id: sa.userId, session_ids: null });
      expect(await userWith(app.auth, app.anonKey, sa.token)).toEqual({ status: 403, code: 'user_not_found' });
      // Deleting the soft-deleted user for good writes no second event.
      expect((await admin.deleteUser(sa.userId)).error).toBeNull();
      await onlyEventOf(app.server, received, ofUser(sa.userId));
    });
  });

  it('verifying a first MFA factor ends the other sessions below aal2', async () => {
    const [a, b] = await devices(2);
    const [sa, sb] = await Promise.all([sessionOf(a!), sessionOf(b!)]);
    const { data: factor, error } = await a!.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone' });
    expect(error).toBeNull();
    const challenge = await a!.auth.mfa.challenge({ factorId: factor!.id });
    const verified = await a!.auth.mfa.verify({ factorId: factor!.id, challengeId: challenge.data!.id, code: authenticator.generate(factor!.totp.secret) });
    expect(verified.error).toBeNull();
    const event = await onlyEventOf(app.server, received, ofUser(sa.userId));
    // The sign-up's session and b; never a.
    expect(event).toMatchObject({ kind: 'session_revoked', user_id: sa.userId });
    expect(event.session_ids).toHaveLength(2);
    expect(event.session_ids).toContain(sb.sessionId);
    expect(event.session_ids).not.toContain(sa.sessionId);
    expect(await userWith(app.auth, app.anonKey, sb.token)).toEqual({ status: 403, code: 'session_not_found' });
    expect((await a!.auth.getUser()).error).toBeNull();
  });

  it('a reused refresh token revokes its session family', async () => {
    const [a] = await devices(1);
    const sa = await sessionOf(a!);
    const first = (await a!.auth.getSession()).data.session!.refresh_token;
    const second = await app.client().auth.refreshSession({ refresh_token: first });
    expect(second.error).toBeNull();
    // `first` is no longer the direct parent of the active token.
    const third = await app.client().auth.refreshSession({ refresh_token: second.data.session!.refresh_token });
    expect(third.error).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1300)); // past the 1 s reuse interval
    const reused = await app.client().auth.refreshSession({ refresh_token: first });
    expect(reused.error).toMatchObject({ code: 'refresh_token_already_used', status: 400 });
    const event = await onlyEventOf(app.server, received, ofUser(sa.userId));
    expect(event).toMatchObject({ kind: 'refresh_token_reused', user_id: sa.userId, session_ids: [sa.sessionId] });
    // Both the old access token and the one minted by the legitimate refresh are refused.
    expect(await userWith(app.auth, app.anonKey, sa.token)).toEqual({ status: 403, code: 'session_not_found' });
    expect(await userWith(app.auth, app.anonKey, third.data.session!.access_token)).toEqual({ status: 403, code: 'session_not_found' });
    // Presenting a dead token again writes nothing more.
    expect((await app.client().auth.refreshSession({ refresh_token: first })).error).toMatchObject({ code: 'refresh_token_already_used' });
    await onlyEventOf(app.server, received, ofUser(sa.userId));
  });
});

describeWith(['REDIS_URL'], 'session end across two nodes sharing the database and Redis', () => {
  describeEachDatabase('two identity nodes', (database) => {
    let nodeA: RunningServer;
    let nodeB: RunningServer;
    /** A node with the identity service on the shared database, with Redis. */
    async function node(prefix: string): Promise<RunningServer> {
      const settings = { PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent', REDIS_URL: process.env.REDIS_URL ?? '', LATCHKEY_REDIS_PREFIX: prefix };
      return startServer({ env: TEST_ENV, config: loadServerConfig(settings), database: database(), services: { identity: true } });
    }
    const anonKey = (server: RunningServer) => server.services.identity!.apiKeys.anonKey;
    beforeAll(async () => {
      // Channels of their own, so runs sharing this Redis never meet.
      const prefix = `test.${randomBytes(6).toString('hex')}`;
      nodeA = await node(prefix);
      nodeB = await node(prefix);
    });
    afterAll(async () => {
      await nodeA?.close();
      await nodeB?.close();
    });

    it('a logout on one node reaches the listeners of the other within a second', async () => {
      expect(nodeB.config.redisUrl).not.toBeNull();
      const onB = listen(nodeB);
      const client = supabaseClient(nodeA.url, anonKey(nodeA));
      expect((await client.auth.signUp({ email: email(), password: PASSWORD })).error).toBeNull();
      const session = await sessionOf(client);
      const started = Date.now();
      expect((await client.auth.signOut({ scope: 'local' })).error).toBeNull();
      await expect.poll(() => onB.filter((event) => event.user_id === session.userId), { timeout: 1000, interval: 10 }).toHaveLength(1);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(onB.find((event) => event.user_id === session.userId)).toMatchObject({ kind: 'logout', session_ids: [session.sessionId] });
      expect(await userWith(`${nodeB.url}/auth/v1`, anonKey(nodeB), session.token)).toEqual({ status: 403, code: 'session_not_found' });
    });
  });
});
