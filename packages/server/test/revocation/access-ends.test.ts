import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revocationMatches, type Claims } from '@latchkey/verify';
import {
  createRevocationRecorder,
  deleteOAuthClient,
  type IdentityExports,
  type RevocationEvent,
  type RunningServer,
} from '@latchkey/server';
import { startOrganizations } from '../organizations/support.js';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { email, post, startIdentity, supabaseClient } from '../identity/support.js';
import { listen, onlyEventOf, sessionOf, userWith } from './support.js';

const PASSWORD = 'correct-horse-1';

describeEachDatabase('organization changes and client deletion write one revocation event', (database) => {
  let server: RunningServer;
  let identity: IdentityExports;
  let received: RevocationEvent[];
  const auth = () => `${server.url}/auth/v1`;

  beforeAll(async () => {
    ({ server, identity } = await startOrganizations(database()));
    received = listen(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  async function call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = { apikey: identity.apiKeys.anonKey, authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${auth()}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  async function user(): Promise<{ id: string; token: string; refresh: string }> {
    const client = supabaseClient(server.url, identity.apiKeys.anonKey);
    const { data, error } = await client.auth.signUp({ email: email('org'), password: PASSWORD });
    expect(error).toBeNull();
    return { id: data.user!.id, token: data.session!.access_token, refresh: data.session!.refresh_token };
  }

  /** A fresh token for the user's session: it carries the current organization and role. */
  async function refreshed(refresh: string): Promise<{ claims: Claims; refresh: string }> {
    const { data, error } = await supabaseClient(server.url, identity.apiKeys.anonKey).auth.refreshSession({ refresh_token: refresh });
    expect(error).toBeNull();
    return { claims: decodeJwt(data.session!.access_token) as Claims, refresh: data.session!.refresh_token };
  }

  /** An organization owned by a new user, with a second user as `role`. */
  async function organization(role: 'admin' | 'member'): Promise<{ id: string; owner: Awaited<ReturnType<typeof user>>; member: Awaited<ReturnType<typeof user>> }> {
    const owner = await user();
    const member = await user();
    const created = await call('POST', '/organizations', owner.token, { name: 'Initech' });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    await server.db.query('insert into auth.organization_members (organization_id, user_id, role) values ($1, $2, $3)', [id, member.id, role]);
    return { id, owner, member };
  }

  const about = (organizationId: string) => (event: RevocationEvent) => event.organization_id === organizationId;

  describe('organizations', () => {
    it('removing a member selects that member in that organization', async () => {
      const org = await organization('member');
      const before = await refreshed(org.member.refresh);
      expect((before.claims.app_metadata as Record<string, unknown>).organization_id).toBe(org.id);
      expect((await call('DELETE', `/organizations/${org.id}/members/${org.member.id}`, org.owner.token)).status).toBe(204);
      const event = await onlyEventOf(server, received, about(org.id));
      expect(event).toMatchObject({ kind: 'membership_removed', user_id: org.member.id, organization_id: org.id, session_ids: null, client_id: null });
      expect(revocationMatches(event, before.claims)).toBe(true);
      // The member's next token carries no organization: the event does not refuse it.
      const after = await refreshed(before.refresh);
      expect((after.claims.app_metadata as Record<string, unknown>).organization_id).toBeUndefined();
      expect(revocationMatches(event, after.claims)).toBe(false);
      // The owner's tokens are untouched.
      expect(revocationMatches(event, (await refreshed(org.owner.refresh)).claims)).toBe(false);
    });

    it('a member leaving writes the same event', async () => {
      const org = await organization('member');
      expect((await call('DELETE', `/organizations/${org.id}/members/${org.member.id}`, org.member.token)).status).toBe(204);
      const event = await onlyEventOf(server, received, about(org.id));
      expect(event).toMatchObject({ kind: 'membership_removed', user_id: org.member.id, organization_id: org.id });
    });

    it('a role change selects the member in the organization; setting the same role writes nothing', async () => {
      const org = await organization('member');
      const before = await refreshed(org.member.refresh);
      expect((before.claims.app_metadata as Record<string, unknown>).org_role).toBe('member');
      expect((await call('PATCH', `/organizations/${org.id}/members/${org.member.id}`, org.owner.token, { role: 'member' })).status).toBe(200);
      expect(received.filter(about(org.id))).toEqual([]);
      expect((await call('PATCH', `/organizations/${org.id}/members/${org.member.id}`, org.owner.token, { role: 'admin' })).status).toBe(200);
      const event = await onlyEventOf(server, received, about(org.id));
      expect(event).toMatchObject({ kind: 'role_changed', user_id: org.member.id, organization_id: org.id, session_ids: null });
      expect(revocationMatches(event, before.claims)).toBe(true);
      // A token issued (whole seconds) after `issued_before` carries the new role and is not refused.
      await new Promise((resolve) => setTimeout(resolve, 1000 * (event.issued_before + 1) + 50 - Date.now()));
      const after = await refreshed(before.refresh);
      expect((after.claims.app_metadata as Record<string, unknown>).org_role).toBe('admin');
      expect(revocationMatches(event, after.claims)).toBe(false);
    });

    it('deleting an organization selects every token carrying it', async () => {
      const org = await organization('admin');
      const memberToken = (await refreshed(org.member.refresh)).claims;
      expect((await call('DELETE', `/organizations/${org.id}`, org.member.token)).status).toBe(403);
      expect(received.filter(about(org.id))).toEqual([]);
      expect((await call('DELETE', `/organizations/${org.id}`, org.owner.token)).status).toBe(204);
      const event = await onlyEventOf(server, received, about(org.id));
      expect(event).toMatchObject({ kind: 'organization_deleted', user_id: null, session_ids: null, organization_id: org.id, client_id: null });
      expect(revocationMatches(event, memberToken)).toBe(true);
    });
  });

  describe('OAuth clients', () => {
    const admin = () => ({ authorization: `Bearer ${identity.apiKeys.serviceRoleKey}`, apikey: identity.apiKeys.serviceRoleKey });

    async function clientToken(): Promise<{ id: string; claims: Claims }> {
      const created = await post(`${auth()}/admin/oauth/clients`, { client_name: 'reports', scopes: ['notes:read'] }, admin());
      expect(created.status).toBe(201);
      const { client_id: id, client_secret: secret } = created.body as { client_id: string; client_secret: string };
      const response = await fetch(`${auth()}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString(),
      });
      expect(response.status).toBe(200);
      return { id, claims: decodeJwt(((await response.json()) as { access_token: string }).access_token) as Claims };
    }

    const ofClient = (id: string) => (event: RevocationEvent) => event.client_id === id;

    it('deleting a client through the admin API selects its tokens', async () => {
      const client = await clientToken();
      const answer = await fetch(`${auth()}/admin/oauth/clients/${client.id}`, { method: 'DELETE', headers: admin() });
      expect(answer.status).toBe(204);
      const event = await onlyEventOf(server, received, ofClient(client.id));
      expect(event).toMatchObject({ kind: 'oauth_client_deleted', client_id: client.id, user_id: null, session_ids: null, organization_id: null });
      expect(revocationMatches(event, client.claims)).toBe(true);
      expect((await fetch(`${auth()}/admin/oauth/clients/${client.id}`, { method: 'DELETE', headers: admin() })).status).toBe(404);
      await onlyEventOf(server, received, ofClient(client.id));
    });

    it('deleting a client from another process reaches the serving node through the table', async () => {
      const client = await clientToken();
      // What the command line does: its own database handle, no broker.
      const recorder = createRevocationRecorder({ tokenLifetime: 3600 });
      expect(await deleteOAuthClient(server.db, client.id, recorder)).toMatchObject({ id: client.id });
      await expect.poll(() => received.filter(ofClient(client.id)).length, { timeout: 3000 }).toBe(1);
      await onlyEventOf(server, received, ofClient(client.id));
    });
  });
});

describeEachDatabase('expired sessions', (database) => {
  it('a session past its timebox is ended by the sweep with one event, and its token refused', async () => {
    const app = await startIdentity(database(), { LATCHKEY_SESSIONS_TIMEBOX: '1' });
    try {
      const received = listen(app.server);
      const client = app.client();
      expect((await client.auth.signUp({ email: email(), password: PASSWORD })).error).toBeNull();
      const session = await sessionOf(client);
      const refresh = (await client.auth.getSession()).data.session!.refresh_token;
      const mine = (event: RevocationEvent) => event.user_id === session.userId;
      await expect.poll(() => received.filter(mine).length, { timeout: 4000 }).toBe(1);
      const event = await onlyEventOf(app.server, received, mine);
      expect(event).toMatchObject({ kind: 'session_expired', user_id: session.userId, session_ids: [session.sessionId] });
      expect(await userWith(app.auth, app.anonKey, session.token)).toEqual({ status: 403, code: 'session_not_found' });
      expect((await app.client().auth.refreshSession({ refresh_token: refresh })).error).toMatchObject({ code: 'session_expired', status: 400 });
      // Later sweeps leave the ended session alone.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await onlyEventOf(app.server, received, mine);
    } finally {
      await app.close();
    }
  });

  it('an idle session is ended; one in use is not', async () => {
    const app = await startIdentity(database(), { LATCHKEY_SESSIONS_INACTIVITY_TIMEOUT: '2' });
    try {
      const received = listen(app.server);
      const idle = app.client();
      const busy = app.client();
      expect((await idle.auth.signUp({ email: email(), password: PASSWORD })).error).toBeNull();
      expect((await busy.auth.signUp({ email: email(), password: PASSWORD })).error).toBeNull();
      const idleSession = await sessionOf(idle);
      const busySession = await sessionOf(busy);
      const started = Date.now();
      while (Date.now() - started < 3500) {
        expect((await busy.auth.refreshSession()).error).toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 700));
      }
      const event = await onlyEventOf(app.server, received, (event) => event.user_id === idleSession.userId);
      expect(event).toMatchObject({ kind: 'session_expired', session_ids: [idleSession.sessionId] });
      expect(received.filter((event) => event.user_id === busySession.userId)).toEqual([]);
      expect((await busy.auth.getUser()).error).toBeNull();
    } finally {
      await app.close();
    }
  });
});
