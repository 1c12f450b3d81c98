import { Centrifuge } from 'centrifuge';
import { SignJWT, decodeJwt } from 'jose';
import type { Claims } from '@latchkey/verify';
import { revocationMatches } from '@latchkey/verify/revocations';
import WebSocket from 'ws';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { buildOpenApiDocument, loadServerConfig, readOutbox, startServer, type IdentityExports, type RunningServer } from '../../src/index.js';
import { TEST_ENV, email, supabaseClient } from '../identity/support.js';
import { mailedInvitationToken } from './invitation-token.js';

const LEGACY_SECRET = 'a-legacy-hs256-secret-of-at-least-32-characters';

interface Session {
  access_token: string;
  refresh_token: string;
  user: { id: string; email: string };
}

interface Call {
  status: number;
  body: any;
  headers: Headers;
}

describeEachDatabase('organizations and their claims', (database) => {
  let server: RunningServer;
  let identity: IdentityExports;
  const exercised = new Set<string>();

  async function call(operationId: string, method: string, path: string, token: string | null, body?: unknown): Promise<Call> {
    exercised.add(operationId);
    const headers: Record<string, string> = { apikey: identity.apiKeys.anonKey };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  }

  async function signUp(): Promise<Session> {
    const address = email('org');
    const client = supabaseClient(server.url, identity.apiKeys.anonKey);
    const { data, error } = await client.auth.signUp({ email: address, password: 'correct horse battery' });
    expect(error).toBeNull();
    return data.session as unknown as Session;
  }

  async function refresh(session: Session): Promise<Session> {
    const client = supabaseClient(server.url, identity.apiKeys.anonKey);
    const { data, error } = await client.auth.refreshSession({ refresh_token: session.refresh_token });
    expect(error).toBeNull();
    return data.session as unknown as Session;
  }

  /** Invites the invitee's address, and the invitee accepts with their own token and the one mailed. */
  async function join(organization: string, inviter: Session, invitee: Session, role: string): Promise<Call> {
    const mails = (await readOutbox(server.db, { recipient: invitee.user.email })).length;
    const invited = await call('createInvitation', 'POST', `/auth/v1/organizations/${organization}/invitations`, inviter.access_token, { email: invitee.user.email, role });
    expect(invited.status).toBe(201);
    const token = await mailedInvitationToken(server.db, invitee.user.email, mails + 1);
    return call('acceptInvitation', 'POST', `/auth/v1/invitations/${invited.body.id}/accept`, invitee.access_token, { token });
  }

  const organizationOf = (session: Session) => (decodeJwt(session.access_token).app_metadata as Record<string, unknown>) ?? {};

  let alice: Session; // owner of A
  let bob: Session; // member of A, later removed
  let carol: Session; // owner of B
  let orgA: string;
  let orgB: string;

  beforeAll(async () => {
    server = await startServer({
      env: { ...TEST_ENV, LATCHKEY_JWT_SECRET: LEGACY_SECRET },
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      database: database(),
    });
    identity = server.services.identity!;
    [alice, bob, carol] = [await signUp(), await signUp(), await signUp()];
  });

  afterAll(async () => {
    await server?.close();
  });

  it('creates organizations with the caller as owner, and claims follow at the next refresh', async () => {
    const created = await call('createOrganization', 'POST', '/auth/v1/organizations', alice.access_token, { name: 'Acme' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Acme', role: 'owner' });
    orgA = created.body.id;
    const other = await call('createOrganization', 'POST', '/auth/v1/organizations', carol.access_token, { name: 'Globex' });
    orgB = other.body.id;

    expect(organizationOf(alice).organization_id).toBeUndefined();
    alice = await refresh(alice);
    expect(organizationOf(alice)).toMatchObject({ organization_id: orgA, org_role: 'owner', provider: 'email' });
    carol = await refresh(carol);
    expect(organizationOf(carol)).toMatchObject({ organization_id: orgB, org_role: 'owner' });

    const mine = await call('listOrganizations', 'GET', '/auth/v1/organizations', alice.access_token);
    expect(mine.body).toEqual([expect.objectContaining({ id: orgA, role: 'owner' })]);
  });

  it('rejects bad input with the documented errors', async () => {
    expect((await call('createOrganization', 'POST', '/auth/v1/organizations', alice.access_token, { name: '' })).body).toMatchObject({ error_code: 'validation_failed' });
    expect((await call('createOrganization', 'POST', '/auth/v1/organizations', null, { name: 'x' })).status).toBe(401);
    expect((await call('createInvitation', 'POST', `/auth/v1/organizations/not-a-uuid/invitations`, alice.access_token, { email: 'x@example.com' })).body).toMatchObject({ error_code: 'organization_not_found' });
    expect((await call('createInvitation', 'POST', `/auth/v1/organizations/${orgB}/invitations`, alice.access_token, { email: bob.user.email })).status).toBe(404);
    expect((await call('createInvitation', 'POST', `/auth/v1/organizations/${orgA}/invitations`, alice.access_token, { email: 'not an address' })).body).toMatchObject({ error_code: 'validation_failed' });
    const badJson = await fetch(`${server.url}/auth/v1/organizations`, { method: 'POST', headers: { authorization: `Bearer ${alice.access_token}`, 'content-type': 'application/json' }, body: '{nope' });
    expect(badJson.status).toBe(400);
  });

  it('adds members by invitation, enforces roles, and keeps the last owner', async () => {
    const added = await join(orgA, alice, bob, 'member');
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ user_id: bob.user.id, role: 'member' });
    expect((await call('createInvitation', 'POST', `/auth/v1/organizations/${orgA}/invitations`, alice.access_token, { email: bob.user.email })).body).toMatchObject({ error_code: 'member_exists' });
    bob = await refresh(bob);
    expect(organizationOf(bob)).toMatchObject({ organization_id: orgA, org_role: 'member' });

    // A member cannot manage members.
    const byMember = await call('createInvitation', 'POST', `/auth/v1/organizations/${orgA}/invitations`, bob.access_token, { email: carol.user.email });
    expect(byMember).toMatchObject({ status: 403, body: { error_code: 'insufficient_role' } });

    // Pending invitations are listed for owners and the invitee; withdrawn or declined ones give no membership.
    const invited = await call('createInvitation', 'POST', `/auth/v1/organizations/${orgA}/invitations`, alice.access_token, { email: carol.user.email, role: 'admin' });
    expect((await call('listInvitations', 'GET', `/auth/v1/organizations/${orgA}/invitations`, alice.access_token)).body).toEqual([expect.objectContaining({ id: invited.body.id, email: carol.user.email, role: 'admin', status: 'pending' })]);
    expect((await call('listReceivedInvitations', 'GET', '/auth/v1/invitations', carol.access_token)).body.invitations).toEqual([{ id: invited.body.id, organization_name: 'Acme', role: 'admin', expires_at: invited.body.expires_at }]);
    const carolToken = await mailedInvitationToken(server.db, carol.user.email, 1);
    expect((await call('revokeInvitation', 'DELETE', `/auth/v1/organizations/${orgA}/invitations/${invited.body.id}`, alice.access_token)).status).toBe(204);
    expect((await call('listReceivedInvitations', 'GET', '/auth/v1/invitations', carol.access_token)).body.invitations).toEqual([]);
    expect((await call('acceptInvitation', 'POST', `/auth/v1/invitations/${invited.body.id}/accept`, carol.access_token, { token: carolToken })).body).toMatchObject({ error_code: 'invitation_not_found' });
    const again = await call('createInvitation', 'POST', `/auth/v1/organizations/${orgA}/invitations`, alice.access_token, { email: carol.user.email });
    expect((await call('declineInvitation', 'POST', `/auth/v1/invitations/${again.body.id}/decline`, carol.access_token, { token: await mailedInvitationToken(server.db, carol.user.email, 2) })).status).toBe(204);
    expect((await call('listMembers', 'GET', `/auth/v1/organizations/${orgA}/members`, alice.access_token)).body.map((m: { user_id: string }) => m.user_id)).not.toContain(carol.user.id);
    const members = await call('listMembers', 'GET', `/auth/v1/organizations/${orgA}/members`, bob.access_token);
    expect(members.body.map((m: { role: string }) => m.role).sort()).toEqual(['member', 'owner']);

    // The last owner can neither leave nor be demoted.
    expect((await call('removeMember', 'DELETE', `/auth/v1/organizations/${orgA}/members/${alice.user.id}`, alice.access_token)).body).toMatchObject({ error_code: 'last_owner' });
    expect((await call('updateMember', 'PATCH', `/auth/v1/organizations/${orgA}/members/${alice.user.id}`, alice.access_token, { role: 'admin' })).body).toMatchObject({ error_code: 'last_owner' });
    const promoted = await call('updateMember', 'PATCH', `/auth/v1/organizations/${orgA}/members/${bob.user.id}`, alice.access_token, { role: 'admin' });
    expect(promoted.body).toMatchObject({ role: 'admin' });
    await call('updateMember', 'PATCH', `/auth/v1/organizations/${orgA}/members/${bob.user.id}`, alice.access_token, { role: 'member' });
    // Tokens issued up to the second after a role change are refused with the old ones (`iat` counts whole seconds).
    const changed = (await server.revocations.since(null)).filter((event) => event.kind === 'role_changed' && event.user_id === bob.user.id).at(-1)!;
    await new Promise((resolve) => setTimeout(resolve, (changed.issued_before + 1) * 1000 + 50 - Date.now()));
    bob = await refresh(bob);
  });

  it('switching organization switches the organization of the session', async () => {
    expect((await join(orgB, carol, alice, 'admin')).status).toBe(200);
    const switched = await call('switchOrganization', 'POST', `/auth/v1/organizations/${orgB}/switch`, alice.access_token);
    expect(switched.status).toBe(200);
    const inB: Session = switched.body;
    expect(organizationOf(inB)).toMatchObject({ organization_id: orgB, org_role: 'admin' });
    // The choice sticks to the session through refreshes; the older session stays in A.
    expect(organizationOf(await refresh(inB)).organization_id).toBe(orgB);
    expect(organizationOf(await refresh(alice)).organization_id).toBe(orgA);
    expect((await call('switchOrganization', 'POST', `/auth/v1/organizations/${orgB}/switch`, bob.access_token)).status).toBe(404);
  });

  it('a removed member loses access at once and the organization at the next refresh', async () => {
    const removed = await call('removeMember', 'DELETE', `/auth/v1/organizations/${orgA}/members/${bob.user.id}`, alice.access_token);
    expect(removed.status).toBe(204);
    // The old token still names A: the removal's revocation event, which resource servers follow, matches it.
    const events = await server.revocations.since(null);
    expect(events.filter((event) => event.kind === 'membership_removed')).toEqual([expect.objectContaining({ user_id: bob.user.id, organization_id: orgA })]);
    expect(revocationMatches(events.find((event) => event.kind === 'membership_removed')!, decodeJwt(bob.access_token) as Claims)).toBe(true);
    bob = await refresh(bob);
    expect(organizationOf(bob).organization_id).toBeUndefined();
  });

  it('the service role sees every organization', async () => {
    const orgs = await call('listOrganizations', 'GET', '/auth/v1/organizations', identity.apiKeys.serviceRoleKey);
    expect(orgs.body.map((o: { id: string }) => o.id).sort()).toEqual([orgA, orgB].sort());
  });

  it('admits members only to their organization channel on the gateway', async () => {
    const client = new Centrifuge(`${server.url.replace('http', 'ws')}/connection/websocket`, { websocket: WebSocket, token: alice.access_token });
    try {
      const subscription = client.newSubscription(`org:${orgA}`);
      const subscribed = new Promise((resolve) => subscription.once('subscribed', resolve));
      subscription.subscribe();
      client.connect();
      await subscribed;
      const refused = client.newSubscription(`org:${orgB}`);
      const unsubscribed = new Promise<{ code: number }>((resolve) => refused.once('unsubscribed', resolve as never));
      refused.subscribe();
      expect((await unsubscribed).code).toBe(103);
    } finally {
      client.disconnect();
    }
  });

  it('accepts tokens signed with the legacy HS256 secret at the gateway too', async () => {
    const now = Math.floor(Date.now() / 1000);
    const legacy = await new SignJWT({ ...decodeJwt(alice.access_token), iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(LEGACY_SECRET));
    const client = new Centrifuge(`${server.url.replace('http', 'ws')}/connection/websocket`, { websocket: WebSocket, token: legacy });
    try {
      const connected = new Promise<{ client: string }>((resolve) => client.once('connected', resolve as never));
      client.connect();
      expect((await connected).client).toBeTruthy();
    } finally {
      client.disconnect();
    }
  });

  it('lets owners delete an organization', async () => {
    const doomed = (await call('createOrganization', 'POST', '/auth/v1/organizations', carol.access_token, { name: 'Doomed' })).body.id as string;
    await server.db.query(`insert into auth.organization_members (organization_id, user_id, role) values ($1, $2, 'admin')`, [doomed, bob.user.id]);
    expect((await call('deleteOrganization', 'DELETE', `/auth/v1/organizations/${doomed}`, alice.access_token)).status).toBe(404);
    expect((await call('deleteOrganization', 'DELETE', `/auth/v1/organizations/${doomed}`, bob.access_token)).body).toMatchObject({ error_code: 'insufficient_role' });
    expect((await call('deleteOrganization', 'DELETE', `/auth/v1/organizations/${doomed}`, carol.access_token)).status).toBe(204);
    expect((await call('deleteOrganization', 'DELETE', `/auth/v1/organizations/${doomed}`, identity.apiKeys.serviceRoleKey)).status).toBe(404);
    const left = await call('listOrganizations', 'GET', '/auth/v1/organizations', carol.access_token);
    expect(left.body.map((o: { id: string }) => o.id)).not.toContain(doomed);
  });

  it('describes the organization endpoints in a valid OpenAPI 3.1 document whose every operation the suite exercised', async () => {
    const document = buildOpenApiDocument(server.url) as { paths: Record<string, Record<string, { operationId: string }>> };
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((operation) => operation.operationId));
    expect(new Set(operations)).toEqual(exercised);
  });
});
