import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { type IdentityExports, type RunningServer } from '../../src/index.js';
import { email, supabaseClient } from '../identity/support.js';
import { mailedInvitationToken } from './invitation-token.js';
import { authCaller, startOrganizations } from './support.js';

const PASSWORD = 'correct horse battery';

/**
 * An admin about to be removed invites a second address they control. Removing (or demoting) them
 * must not leave that invitation as a way back in: the invitations they sent beyond what their role
 * now allows are withdrawn.
 */
describeEachDatabase('invitations sent by a member who lost the right to send them', (database) => {
  let server: RunningServer;
  let identity: IdentityExports;
  let owner: string;
  let organization: string;

  const call = authCaller(() => server);

  async function signUp(prefix: string): Promise<{ id: string; email: string; token: string }> {
    const address = email(prefix);
    const { data, error } = await supabaseClient(server.url, identity.apiKeys.anonKey).auth.signUp({ email: address, password: PASSWORD });
    expect(error).toBeNull();
    return { id: data.user!.id, email: address, token: data.session!.access_token };
  }

  /** A member with `role`, through an invitation they accepted. */
  async function member(role: 'admin' | 'member'): Promise<{ id: string; email: string; token: string }> {
    const user = await signUp(role);
    const invited = await call('POST', `/organizations/${organization}/invitations`, owner, { email: user.email, role });
    expect(invited.status).toBe(201);
    const token = await mailedInvitationToken(server.db, user.email);
    expect((await call('POST', `/invitations/${invited.body.id}/accept`, user.token, { token })).status).toBe(200);
    return user;
  }

  beforeAll(async () => {
    ({ server, identity } = await startOrganizations(database()));
    owner = (await signUp('owner')).token;
    organization = (await call('POST', '/organizations', owner, { name: 'Target Corp' })).body.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a removed admin’s pending invitation no longer lets their second account in', async () => {
    const admin = await member('admin');
    const alternate = await signUp('alternate');
    const planted = await call('POST', `/organizations/${organization}/invitations`, admin.token, { email: alternate.email, role: 'admin' });
    expect(planted.status).toBe(201);
    expect((await call('DELETE', `/organizations/${organization}/members/${admin.id}`, owner)).status).toBe(204);

    expect(await call('POST', `/invitations/${planted.body.id}/accept`, alternate.token, { token: await mailedInvitationToken(server.db, alternate.email) })).toMatchObject({ status: 404, body: { code: 'invitation_not_found' } });
    expect((await call('GET', `/organizations/${organization}/members`, owner)).body.map((entry: { user_id: string }) => entry.user_id)).not.toContain(alternate.id);
    expect((await call('GET', `/organizations/${organization}/invitations`, owner)).body.map((entry: { id: string }) => entry.id)).not.toContain(planted.body.id);
  });

  it('an admin demoted to member loses the invitations they sent; the owner’s stay', async () => {
    const admin = await member('admin');
    const alternate = await signUp('alternate');
    const planted = await call('POST', `/organizations/${organization}/invitations`, admin.token, { email: alternate.email, role: 'member' });
    expect(planted.status).toBe(201);
    const fromOwner = await signUp('guest');
    const kept = await call('POST', `/organizations/${organization}/invitations`, owner, { email: fromOwner.email, role: 'member' });
    expect((await call('PATCH', `/organizations/${organization}/members/${admin.id}`, owner, { role: 'member' })).status).toBe(200);

    expect(await call('POST', `/invitations/${planted.body.id}/accept`, alternate.token, { token: await mailedInvitationToken(server.db, alternate.email) })).toMatchObject({ status: 404, body: { code: 'invitation_not_found' } });
    expect((await call('POST', `/invitations/${kept.body.id}/accept`, fromOwner.token, { token: await mailedInvitationToken(server.db, fromOwner.email) })).status).toBe(200);
  });
});
