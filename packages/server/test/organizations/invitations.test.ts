import { decodeJwt } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { readOutbox, type IdentityExports, type RunningServer } from '../../src/index.js';
import { email, supabaseClient } from '../identity/support.js';
import { mailedInvitationToken } from './invitation-token.js';
import { authCaller, startOrganizations } from './support.js';

const PASSWORD = 'correct horse battery';

interface Session {
  access_token: string;
  refresh_token: string;
  user: { id: string; email: string };
}

describeEachDatabase('organization invitations', (database) => {
  let server: RunningServer;
  let identity: IdentityExports;
  let owner: Session;
  let victim: Session;
  let stranger: Session;
  let organization: string;

  const call = authCaller(() => server);

  const client = () => supabaseClient(server.url, identity.apiKeys.anonKey);

  async function signUp(prefix: string): Promise<Session> {
    const { data, error } = await client().auth.signUp({ email: email(prefix), password: PASSWORD });
    expect(error).toBeNull();
    return data.session as unknown as Session;
  }

  /** The organization claims of a fresh token, refreshed with supabase-js. */
  async function claimsAfterRefresh(session: Session): Promise<Record<string, unknown>> {
    const { data, error } = await client().auth.refreshSession({ refresh_token: session.refresh_token });
    expect(error).toBeNull();
    Object.assign(session, data.session);
    return decodeJwt(data.session!.access_token).app_metadata as Record<string, unknown>;
  }

  const invite = (address: string, role = 'member') => call('POST', `/organizations/${organization}/invitations`, owner.access_token, { email: address, role });

  beforeAll(async () => {
    ({ server, identity } = await startOrganizations(database()));
    [owner, victim, stranger] = [await signUp('owner'), await signUp('victim'), await signUp('stranger')];
    organization = (await call('POST', '/organizations', owner.access_token, { name: 'Foreign Corp' })).body.id;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('the attack: an owner adding a foreign user by e-mail makes no membership, and the old route is gone', async () => {
    const direct = await call('POST', `/organizations/${organization}/members`, owner.access_token, { email: victim.user.email, role: 'member' });
    expect(direct.status).toBe(404);
    expect(direct.body.code).toBe('not_found');

    expect((await invite(victim.user.email)).status).toBe(201);
    // The victim's next refresh does not carry the foreign organization; they are no member.
    expect((await claimsAfterRefresh(victim)).organization_id).toBeUndefined();
    expect((await call('GET', '/organizations', victim.access_token)).body).toEqual([]);
    expect((await call('GET', `/organizations/${organization}/members`, owner.access_token)).body.map((m: { user_id: string }) => m.user_id)).not.toContain(victim.user.id);
  });

  it('answers known and unknown addresses alike and mails both', async () => {
    const known = await invite(stranger.user.email);
    const unknownAddress = email('nobody');
    const unknown = await invite(unknownAddress);
    expect(unknown.status).toBe(known.status);
    expect(Object.keys(unknown.body).sort()).toEqual(Object.keys(known.body).sort());
    expect(unknown.body).toMatchObject({ email: unknownAddress, role: 'member', status: 'pending', invited_by: owner.user.id, organization_id: organization });
    expect(known.body).toMatchObject({ email: stranger.user.email, role: 'member', status: 'pending', invited_by: owner.user.id, organization_id: organization });
    // Valid for 7 days by default.
    const lifetime = Date.parse(known.body.expires_at) - Date.parse(known.body.created_at);
    expect(Math.abs(lifetime - 7 * 24 * 3600_000)).toBeLessThan(5000);

    for (const address of [stranger.user.email, unknownAddress]) {
      await expect.poll(async () => (await readOutbox(server.db, { recipient: address })).length).toBe(1);
      const [mail] = await readOutbox(server.db, { recipient: address });
      expect(mail!.subject).toBe('You are invited to join Foreign Corp');
      expect(mail!.text_body).toContain(owner.user.email);
    }
    // Inviting again within a minute renews the invitation without a second mail.
    const again = await invite(stranger.user.email);
    expect(again).toMatchObject({ status: 201, body: { id: known.body.id } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await readOutbox(server.db, { recipient: stranger.user.email })).toHaveLength(1);
  });

  it('the invitee lists and accepts with their own token and the mailed one; only then the membership exists', async () => {
    const received = await call('GET', '/invitations', victim.access_token);
    expect(received.status).toBe(200);
    expect(received.body.invitations).toEqual([{ id: expect.any(String), organization_name: 'Foreign Corp', role: 'member', expires_at: expect.any(String) }]);
    const id = received.body.invitations[0].id as string;
    const token = await mailedInvitationToken(server.db, victim.user.email);

    // Nobody else can answer it, even with the mailed token, and an unknown id answers the same.
    const foreign = await call('POST', `/invitations/${id}/accept`, stranger.access_token, { token });
    expect(foreign).toEqual({ status: 404, body: { code: 'invitation_not_found', message: 'Invitation not found' } });
    expect(await call('POST', `/invitations/${crypto.randomUUID()}/accept`, stranger.access_token, { token })).toEqual(foreign);
    expect(await call('POST', '/invitations/nope/decline', stranger.access_token, { token })).toEqual(foreign);

    const accepted = await call('POST', `/invitations/${id}/accept`, victim.access_token, { token });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ organization_id: organization, user_id: victim.user.id, role: 'member' });
    expect(await claimsAfterRefresh(victim)).toMatchObject({ organization_id: organization, org_role: 'member' });

    // Used once.
    expect(await call('POST', `/invitations/${id}/accept`, victim.access_token, { token })).toMatchObject({ status: 422, body: { code: 'invitation_already_used' } });
    expect(await call('POST', `/invitations/${id}/decline`, victim.access_token, { token })).toMatchObject({ status: 422, body: { code: 'invitation_already_used' } });
    expect((await call('GET', '/invitations', victim.access_token)).body.invitations).toEqual([]);
  });

  it('refuses expired invitations and lists them as expired to the owner', async () => {
    const invited = await call('GET', '/invitations', stranger.access_token);
    const id = invited.body.invitations[0].id as string;
    await server.db.query(`update auth.organization_invitations set expires_at = now() - interval '1 second' where id = $1`, [id]);
    const token = await mailedInvitationToken(server.db, stranger.user.email);
    expect(await call('POST', `/invitations/${id}/accept`, stranger.access_token, { token })).toMatchObject({ status: 422, body: { code: 'invitation_expired' } });
    expect((await call('GET', '/invitations', stranger.access_token)).body.invitations).toEqual([]);
    const pending = (await call('GET', `/organizations/${organization}/invitations`, owner.access_token)).body as { id: string; status: string }[];
    expect(pending.find((invitation) => invitation.id === id)?.status).toBe('expired');
    // Inviting again renews it; within a minute of the last mail no new one goes out and its token stays valid.
    const renewed = await invite(stranger.user.email, 'admin');
    expect(renewed.body).toMatchObject({ id, status: 'pending', role: 'admin' });
    expect((await call('POST', `/invitations/${id}/accept`, stranger.access_token, { token })).body).toMatchObject({ role: 'admin' });
    expect((await claimsAfterRefresh(stranger)).org_role).toBe('admin');
  });

  it('only owners invite owners; admins invite members; members invite nobody', async () => {
    expect(await call('POST', `/organizations/${organization}/invitations`, stranger.access_token, { email: email('x'), role: 'owner' })).toMatchObject({
      status: 403,
      body: { code: 'insufficient_role' },
    });
    expect((await call('POST', `/organizations/${organization}/invitations`, stranger.access_token, { email: email('x') })).status).toBe(201);
    expect((await call('POST', `/organizations/${organization}/invitations`, victim.access_token, { email: email('x') })).status).toBe(403);
    expect((await call('GET', `/organizations/${organization}/invitations`, victim.access_token)).status).toBe(403);
    expect((await call('DELETE', `/organizations/${organization}/invitations/${crypto.randomUUID()}`, owner.access_token)).body.code).toBe('invitation_not_found');
  });
});
