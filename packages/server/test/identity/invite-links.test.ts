import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AuditEntryJson } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { nextMail } from './outbox.js';
import { email, post, startIdentity, type IdentityServer } from './support.js';

const SITE = 'https://app.example.com';
const PASSWORD = 'invited-pass-1';

function fragmentOf(location: string): URLSearchParams {
  return new URLSearchParams(location.split('#')[1] ?? '');
}

describeEachDatabase('invitations and generated links', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database(), {
      LATCHKEY_SITE_URL: SITE,
      LATCHKEY_URI_ALLOW_LIST: 'https://app.example.com/**',
      LATCHKEY_SMTP_MAX_FREQUENCY: '0',
      LATCHKEY_RATE_LIMIT_EMAIL_SENT: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('invites by email: an unconfirmed account without password, a mailed invite link that signs in, then a password', async () => {
    const address = email('invitee');
    const admin = app.admin().auth.admin;
    const invited = await admin.inviteUserByEmail(address, { data: { team: 'blue', plan: null }, redirectTo: `${SITE}/welcome` });
    expect(invited.error).toBeNull();
    const user = invited.data.user!;
    expect(user.email).toBe(address);
    expect(user.user_metadata).toEqual({ team: 'blue', plan: null });
    expect(user.invited_at).toBeTruthy();
    expect(user.confirmation_sent_at).toBeTruthy();
    expect(user.email_confirmed_at).toBeUndefined();
    expect(user.identities?.[0]?.provider).toBe('email');

    const mail = await nextMail(app, address);
    expect(mail.subject).toBe('You have been invited');
    const link = new URL(mail.link);
    expect(link.searchParams.get('type')).toBe('invite');
    expect(link.searchParams.get('redirect_to')).toBe(`${SITE}/welcome`);
    const followed = await fetch(mail.link, { redirect: 'manual' });
    expect(followed.status).toBe(303);
    const location = followed.headers.get('location')!;
    expect(location.startsWith(`${SITE}/welcome#`)).toBe(true);
    const fragment = fragmentOf(location);
    expect(fragment.get('type')).toBe('invite');
    const client = app.client();
    const session = await client.auth.setSession({ access_token: fragment.get('access_token')!, refresh_token: fragment.get('refresh_token')! });
    expect(session.error).toBeNull();
    expect(session.data.user!.email_confirmed_at).toBeTruthy();
    expect((await client.auth.updateUser({ password: PASSWORD })).error).toBeNull();
    expect((await app.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error).toBeNull();

    // The link works once.
    const again = await fetch(mail.link, { redirect: 'manual' });
    expect(fragmentOf(again.headers.get('location')!).get('error_code')).toBe('otp_expired');

    const audit = await fetch(`${app.auth}/admin/audit?user_id=${user.id}&action=user_invited`, { headers: { authorization: `Bearer ${app.serviceRoleKey}` } });
    const entries = (await audit.json()) as AuditEntryJson[];
    expect(entries).toHaveLength(1);
    expect(entries[0]!.payload).toMatchObject({ actor_username: 'service_role', log_type: 'team', traits: { user_id: user.id, user_email: address } });
  });

  it('re-invites an unconfirmed address, refuses a confirmed one, a bad address and non-admins', async () => {
    const admin = app.admin().auth.admin;
    const pending = email('pending');
    const first = await admin.inviteUserByEmail(pending);
    const second = await admin.inviteUserByEmail(pending);
    expect(second.error).toBeNull();
    expect(second.data.user!.id).toBe(first.data.user!.id);

    const confirmed = email('confirmed');
    await admin.createUser({ email: confirmed, password: PASSWORD, email_confirm: true });
    const refused = await admin.inviteUserByEmail(confirmed);
    expect(refused.error?.status).toBe(422);
    expect(refused.error?.code).toBe('email_exists');

    const bad = await admin.inviteUserByEmail('not an address');
    expect(bad.error?.status).toBe(400);
    expect(bad.error?.code).toBe('validation_failed');

    const asAnon = await post(`${app.auth}/invite`, { email: email('anon') }, { authorization: `Bearer ${app.anonKey}`, 'x-supabase-api-version': '2024-01-01' });
    expect(asAnon.status).toBe(403);
    expect(asAnon.body.code).toBe('not_admin');
  });

  it('generates a signup link with GoTrue properties; its code confirms the account', async () => {
    const address = email('gen-signup');
    const admin = app.admin().auth.admin;
    const generated = await admin.generateLink({ type: 'signup', email: address, password: PASSWORD, options: { data: { source: 'admin' }, redirectTo: `${SITE}/done` } });
    expect(generated.error).toBeNull();
    const { properties, user } = generated.data;
    expect(properties!.verification_type).toBe('signup');
    expect(properties!.email_otp).toMatch(/^\d{6}$/);
    expect(properties!.hashed_token).toMatch(/^[0-9a-f]{56}$/);
    expect(properties!.redirect_to).toBe(`${SITE}/done`);
    const action = new URL(properties!.action_link);
    expect(`${action.origin}${action.pathname}`).toBe(`${app.auth}/verify`);
    expect(Object.fromEntries(action.searchParams)).toEqual({ token: properties!.hashed_token, type: 'signup', redirect_to: `${SITE}/done` });
    expect(user!.email).toBe(address);
    expect(user!.user_metadata).toEqual({ source: 'admin' });
    expect(user!.email_confirmed_at).toBeUndefined();
    // No mail is sent: the admin delivers the link.
    await expect(nextMail(app, address)).rejects.toThrow(/no mail/);

    expect((await app.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error?.code).toBe('email_not_confirmed');
    const verified = await app.client().auth.verifyOtp({ email: address, token: properties!.email_otp, type: 'signup' });
    expect(verified.error).toBeNull();
    expect((await app.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error).toBeNull();

    const again = await admin.generateLink({ type: 'signup', email: address, password: PASSWORD });
    expect(again.error?.code).toBe('email_exists');
    const noPassword = await admin.generateLink({ type: 'signup', email: email('gen-nopass'), password: '' });
    expect(noPassword.error?.status).toBe(400);
    expect(noPassword.error?.message).toBe('Signup requires a valid password');
  });

  it('generates magic links (signing up an unknown address) and recovery links, refused for unknown accounts', async () => {
    const admin = app.admin().auth.admin;
    const unknown = email('gen-magic-new');
    const created = await admin.generateLink({ type: 'magiclink', email: unknown });
    expect(created.error).toBeNull();
    expect(created.data.properties!.verification_type).toBe('signup');
    expect(created.data.user!.email).toBe(unknown);

    const known = email('gen-magic');
    await admin.createUser({ email: known, password: PASSWORD, email_confirm: true });
    const magic = await admin.generateLink({ type: 'magiclink', email: known, options: { redirectTo: 'https://evil.example.net/' } });
    expect(magic.data.properties!.verification_type).toBe('magiclink');
    // A target off the allow list falls back to the site URL.
    expect(magic.data.properties!.redirect_to).toBe(SITE);
    const signedIn = await app.client().auth.verifyOtp({ token_hash: magic.data.properties!.hashed_token, type: 'magiclink' });
    expect(signedIn.error).toBeNull();
    expect(signedIn.data.user!.email).toBe(known);

    const recovery = await admin.generateLink({ type: 'recovery', email: known });
    expect(recovery.data.properties!.verification_type).toBe('recovery');
    const followed = await fetch(recovery.data.properties!.action_link, { redirect: 'manual' });
    expect(followed.status).toBe(303);
    expect(fragmentOf(followed.headers.get('location')!).get('type')).toBe('recovery');

    const missing = await admin.generateLink({ type: 'recovery', email: email('gen-missing') });
    expect(missing.error?.status).toBe(404);
    expect(missing.error?.code).toBe('user_not_found');
    expect(missing.error?.message).toBe('User with this email not found');
  });

  it('generates invite links that sign in with type invite', async () => {
    const address = email('gen-invite');
    const generated = await app.admin().auth.admin.generateLink({ type: 'invite', email: address, options: { data: { role: 'editor' } } });
    expect(generated.error).toBeNull();
    expect(generated.data.properties!.verification_type).toBe('invite');
    expect(new URL(generated.data.properties!.action_link).searchParams.get('type')).toBe('invite');
    expect(generated.data.user!.invited_at).toBeTruthy();
    const verified = await app.client().auth.verifyOtp({ email: address, token: generated.data.properties!.email_otp, type: 'invite' });
    expect(verified.error).toBeNull();
    expect(verified.data.session!.user.email_confirmed_at).toBeTruthy();
  });

  it('generates email change links for the current and the new address; both confirm the change', async () => {
    const admin = app.admin().auth.admin;
    const address = email('gen-change');
    const target = email('gen-change-new');
    const created = await admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
    const current = await admin.generateLink({ type: 'email_change_current', email: address, newEmail: target });
    expect(current.error).toBeNull();
    expect(current.data.properties!.verification_type).toBe('email_change_current');
    expect(new URL(current.data.properties!.action_link).searchParams.get('type')).toBe('email_change');
    expect(current.data.user!.new_email).toBe(target);
    const fresh = await admin.generateLink({ type: 'email_change_new', email: address, newEmail: target });
    expect(fresh.data.properties!.verification_type).toBe('email_change_new');

    const first = await app.client().auth.verifyOtp({ email: target, token: fresh.data.properties!.email_otp, type: 'email_change' });
    expect(first.error).toBeNull();
    expect(first.data.session).toBeNull();
    const second = await app.client().auth.verifyOtp({ token_hash: current.data.properties!.hashed_token, type: 'email_change' });
    expect(second.error).toBeNull();
    expect(second.data.user!.email).toBe(target);
    expect((await admin.getUserById(created.data.user!.id)).data.user!.email).toBe(target);

    const other = email('taken');
    await admin.createUser({ email: other, password: PASSWORD });
    const taken = await admin.generateLink({ type: 'email_change_new', email: target, newEmail: other });
    expect(taken.error?.code).toBe('email_exists');
    const noTarget = await post(`${app.auth}/admin/generate_link`, { type: 'email_change_new', email: target }, { authorization: `Bearer ${app.serviceRoleKey}`, 'x-supabase-api-version': '2024-01-01' });
    expect(noTarget.status).toBe(400);
    const unknownType = await post(`${app.auth}/admin/generate_link`, { type: 'phone_change', email: target }, { authorization: `Bearer ${app.serviceRoleKey}`, 'x-supabase-api-version': '2024-01-01' });
    expect(unknownType.status).toBe(400);
    expect(unknownType.body).toEqual({ code: 'validation_failed', message: 'Invalid email action link type requested: phone_change' });
  });
});
