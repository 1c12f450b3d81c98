import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { type IdentityExports, type RunningServer } from '../../src/index.js';
import { email, supabaseClient } from '../identity/support.js';
import { mailedInvitationToken } from './invitation-token.js';
import { authCaller, startOrganizations } from './support.js';

const PASSWORD = 'correct horse battery';

interface Account {
  readonly id: string;
  readonly email: string;
  readonly token: string;
}

/**
 * With e-mail autoconfirm on, anyone can sign up with an address they do not own. Holding an account
 * with the invited address must not be enough to join: answering needs the secret token that only the
 * invitation mail carries. And an invitation outlives no deleted inviter.
 */
describeEachDatabase('invitations need proof of the mailbox', (database) => {
  let server: RunningServer;
  let identity: IdentityExports;
  let owner: Account;
  let organization: string;

  const call = authCaller(() => server);

  /** Signs up with an address; autoconfirm makes it "confirmed" without any mailbox. */
  async function signUp(prefix: string): Promise<Account> {
    const address = email(prefix);
    const { data, error } = await supabaseClient(server.url, identity.apiKeys.anonKey).auth.signUp({ email: address, password: PASSWORD });
    expect(error).toBeNull();
    expect(data.user!.email_confirmed_at).toBeTruthy();
    return { id: data.user!.id, email: address, token: data.session!.access_token };
  }

  const mailedToken = (address: string, mails = 1) => mailedInvitationToken(server.db, address, mails);

  const invite = async (by: Account, address: string, role = 'member'): Promise<string> => {
    const invited = await call('POST', `/organizations/${organization}/invitations`, by.token, { email: address, role });
    expect(invited.status).toBe(201);
    return invited.body.id as string;
  };

  beforeAll(async () => {
    ({ server, identity } = await startOrganizations(database()));
    owner = await signUp('owner');
    organization = (await call('POST', '/organizations', owner.token, { name: 'Mailbox Corp' })).body.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('a squatter on the invited address cannot accept or decline without the mailed token; the mailbox holder can', async () => {
    const address = email('squatted');
    const id = await invite(owner, address, 'admin');
    const squatter = await signUp('squatter-unused');
    const onAddress = await (async () => {
      const { data, error } = await supabaseClient(server.url, identity.apiKeys.anonKey).auth.signUp({ email: address, password: PASSWORD });
      expect(error).toBeNull();
      return { id: data.user!.id, email: address, token: data.session!.access_token } satisfies Account;
    })();

    // The list names no inviter and no organization id.
    const listed = await call('GET', '/invitations', onAddress.token);
    expect(listed.body.invitations).toEqual([{ id, role: 'admin', organization_name: 'Mailbox Corp', expires_at: expect.any(String) }]);

    const unknown = await call('POST', `/invitations/${crypto.randomUUID()}/accept`, onAddress.token, { token: 'x'.repeat(22) });
    expect(unknown).toEqual({ status: 404, body: { code: 'invitation_not_found', message: 'Invitation not found' } });
    expect((await call('POST', `/invitations/${id}/accept`, onAddress.token)).status).toBe(400);
    expect((await call('POST', `/invitations/${id}/accept`, onAddress.token, {})).body.code).toBe('validation_failed');
    expect(await call('POST', `/invitations/${id}/accept`, onAddress.token, { token: 'x'.repeat(22) })).toEqual(unknown);
    expect(await call('POST', `/invitations/${id}/decline`, onAddress.token, { token: 'guess' })).toEqual(unknown);

    const token = await mailedToken(address);
    // The token alone does not let another account in.
    expect(await call('POST', `/invitations/${id}/accept`, squatter.token, { token })).toEqual(unknown);
    const accepted = await call('POST', `/invitations/${id}/accept`, onAddress.token, { token });
    expect(accepted).toMatchObject({ status: 200, body: { organization_id: organization, user_id: onAddress.id, role: 'admin' } });
    // Once used, a wrong token still answers as unknown; the right one tells it was used.
    expect(await call('POST', `/invitations/${id}/accept`, onAddress.token, { token: 'x'.repeat(22) })).toEqual(unknown);
    expect(await call('POST', `/invitations/${id}/accept`, onAddress.token, { token })).toMatchObject({ status: 422, body: { code: 'invitation_already_used' } });
  });

  it('the invitation dies after five wrong tokens, and inviting again mails a new token', async () => {
    const invitee = await signUp('guessed');
    const id = await invite(owner, invitee.email);
    const token = await mailedToken(invitee.email);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect((await call('POST', `/invitations/${id}/accept`, invitee.token, { token: `wrong-${attempt}` })).status).toBe(404);
    }
    expect(await call('POST', `/invitations/${id}/accept`, invitee.token, { token })).toMatchObject({ status: 404, body: { code: 'invitation_not_found' } });
    expect((await call('GET', '/invitations', invitee.token)).body.invitations).toEqual([]);

    const again = await invite(owner, invitee.email);
    expect(again).not.toBe(id);
    const fresh = await mailedToken(invitee.email, 2);
    expect(fresh).not.toBe(token);
    expect((await call('POST', `/invitations/${again}/decline`, invitee.token, { token: fresh })).status).toBe(204);
  });

  it('a deleted inviter’s pending invitations can no longer be accepted', async () => {
    const admin = await signUp('inviter');
    const adminInvitation = await invite(owner, admin.email, 'admin');
    expect((await call('POST', `/invitations/${adminInvitation}/accept`, admin.token, { token: await mailedToken(admin.email) })).status).toBe(200);
    const refreshed = await supabaseClient(server.url, identity.apiKeys.anonKey).auth.signInWithPassword({ email: admin.email, password: PASSWORD });
    const adminAccount = { ...admin, token: refreshed.data.session!.access_token };

    const invitee = await signUp('orphan');
    const planted = await invite(adminAccount, invitee.email, 'admin');
    const token = await mailedToken(invitee.email);
    const fromOwner = await signUp('kept');
    const kept = await invite(owner, fromOwner.email);

    const { error } = await supabaseClient(server.url, identity.apiKeys.serviceRoleKey).auth.admin.deleteUser(admin.id);
    expect(error).toBeNull();

    expect(await call('POST', `/invitations/${planted}/accept`, invitee.token, { token })).toMatchObject({ status: 404, body: { code: 'invitation_not_found' } });
    expect((await call('GET', `/organizations/${organization}/invitations`, owner.token)).body.map((entry: { id: string }) => entry.id)).toEqual([kept]);
    expect((await call('POST', `/invitations/${kept}/accept`, fromOwner.token, { token: await mailedToken(fromOwner.email) })).status).toBe(200);
  });

  it('a soft-deleted inviter’s pending invitations are withdrawn too', async () => {
    const admin = await signUp('soft');
    expect((await call('POST', `/invitations/${await invite(owner, admin.email, 'admin')}/accept`, admin.token, { token: await mailedToken(admin.email) })).status).toBe(200);
    const signedIn = await supabaseClient(server.url, identity.apiKeys.anonKey).auth.signInWithPassword({ email: admin.email, password: PASSWORD });
    const invitee = await signUp('soft-orphan');
    const planted = await invite({ ...admin, token: signedIn.data.session!.access_token }, invitee.email);
    const token = await mailedToken(invitee.email);

    const { error } = await supabaseClient(server.url, identity.apiKeys.serviceRoleKey).auth.admin.deleteUser(admin.id, true);
    expect(error).toBeNull();
    expect(await call('POST', `/invitations/${planted}/accept`, invitee.token, { token })).toMatchObject({ status: 404, body: { code: 'invitation_not_found' } });
  });
});
