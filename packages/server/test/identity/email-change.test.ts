import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { nextMail, outbox } from './outbox.js';
import { email, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'correct-horse-1';
const SINGLE_CONFIRMATION = 'Confirmation link accepted. Please proceed to confirm link sent to the other email';

describeEachDatabase('secure email change', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database(), {
      LATCHKEY_SITE_URL: 'https://app.example.com',
      LATCHKEY_SMTP_MAX_FREQUENCY: '0',
      LATCHKEY_RATE_LIMIT_EMAIL_SENT: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  async function signedIn(prefix: string) {
    const address = email(prefix);
    const client = app.client();
    const { data, error } = await client.auth.signUp({ email: address, password: PASSWORD });
    expect(error).toBeNull();
    return { client, address, userId: data.user!.id };
  }

  async function storedEmail(userId: string): Promise<string> {
    const { data } = await app.admin().auth.admin.getUserById(userId);
    return data.user!.email!;
  }

  it('changes the address only once both the old and the new address confirmed (codes)', async () => {
    const { client, address, userId } = await signedIn('old');
    const target = email('new');
    const seenOld = await outbox(app, address);

    const requested = await client.auth.updateUser({ email: target });
    expect(requested.error).toBeNull();
    expect(requested.data.user!.email).toBe(address);
    expect(requested.data.user!.new_email).toBe(target);
    expect(requested.data.user!.email_change_sent_at).toBeTruthy();
    // An access token alone changed nothing.
    expect((await client.auth.getUser()).data.user!.email).toBe(address);
    expect(await storedEmail(userId)).toBe(address);

    const toOld = await nextMail(app, address, seenOld);
    const toNew = await nextMail(app, target);
    expect(toOld.subject).toBe('Confirm email change');
    expect(toNew.subject).toBe('Confirm email change');
    expect(toOld.code).not.toBe(toNew.code);
    expect(new URL(toNew.link).searchParams.get('type')).toBe('email_change');

    // The new address alone is not enough.
    const first = await client.auth.verifyOtp({ email: target, token: toNew.code, type: 'email_change' });
    expect(first.error).toBeNull();
    expect(first.data.session).toBeNull();
    expect(await storedEmail(userId)).toBe(address);
    // A code cannot confirm for the other address.
    const crossed = await client.auth.verifyOtp({ email: target, token: toOld.code, type: 'email_change' });
    expect(crossed.error?.code).toBe('otp_expired');

    const second = await client.auth.verifyOtp({ email: address, token: toOld.code, type: 'email_change' });
    expect(second.error).toBeNull();
    expect(second.data.session).toBeTruthy();
    expect(second.data.user!.email).toBe(target);
    expect(second.data.user!.new_email).toBeUndefined();
    expect(await storedEmail(userId)).toBe(target);

    expect((await app.client().auth.signInWithPassword({ email: target, password: PASSWORD })).error).toBeNull();
    expect((await app.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error?.code).toBe('invalid_credentials');
  });

  it('answers the first followed link with a message and the second with a session', async () => {
    const { client, address, userId } = await signedIn('linked');
    const target = email('linked-new');
    const seenOld = await outbox(app, address);
    expect((await client.auth.updateUser({ email: target }, { emailRedirectTo: 'https://app.example.com/settings' })).error).toBeNull();
    const toOld = await nextMail(app, address, seenOld);
    const toNew = await nextMail(app, target);

    const first = await fetch(toOld.link, { redirect: 'manual' });
    expect(first.status).toBe(303);
    const firstLocation = first.headers.get('location')!;
    expect(firstLocation.startsWith('https://app.example.com/settings#')).toBe(true);
    expect(new URLSearchParams(firstLocation.split('#')[1]).get('message')).toBe(SINGLE_CONFIRMATION);
    expect(await storedEmail(userId)).toBe(address);

    const second = await fetch(toNew.link, { redirect: 'manual' });
    const fragment = new URLSearchParams(second.headers.get('location')!.split('#')[1]);
    expect(fragment.get('type')).toBe('email_change');
    expect(fragment.get('access_token')).toBeTruthy();
    expect(await storedEmail(userId)).toBe(target);
  });

  it('refuses an address another account has, and a second request replaces the first', async () => {
    const { client, address, userId } = await signedIn('taken');
    const other = await signedIn('owner');
    const taken = await client.auth.updateUser({ email: other.address });
    expect(taken.error?.code).toBe('email_exists');

    const abandoned = email('abandoned');
    const target = email('replacing');
    const seenOld = await outbox(app, address);
    await client.auth.updateUser({ email: abandoned });
    const abandonedMail = await nextMail(app, abandoned);
    const firstOld = await nextMail(app, address, seenOld);
    await client.auth.updateUser({ email: target });
    const toOld = await nextMail(app, address, [...seenOld, firstOld]);
    const toNew = await nextMail(app, target);
    expect((await client.auth.verifyOtp({ email: abandoned, token: abandonedMail.code, type: 'email_change' })).error?.code).toBe('otp_expired');
    expect((await client.auth.verifyOtp({ email: target, token: toNew.code, type: 'email_change' })).error).toBeNull();
    expect((await client.auth.verifyOtp({ email: address, token: toOld.code, type: 'email_change' })).error).toBeNull();
    expect(await storedEmail(userId)).toBe(target);
  });

  it('refuses the last confirmation when another account took the address meanwhile', async () => {
    const { client, address, userId } = await signedIn('raced');
    const target = email('raced-new');
    const seenOld = await outbox(app, address);
    expect((await client.auth.updateUser({ email: target })).error).toBeNull();
    const toOld = await nextMail(app, address, seenOld);
    const toNew = await nextMail(app, target);
    expect((await app.client().auth.signUp({ email: target, password: PASSWORD })).error).toBeNull();
    expect((await client.auth.verifyOtp({ email: target, token: toNew.code, type: 'email_change' })).error).toBeNull();
    const last = await fetch(toOld.link, { redirect: 'manual' });
    expect(last.status).toBe(303);
    expect(new URLSearchParams(last.headers.get('location')!.split('#')[1]).get('error_code')).toBe('email_exists');
    expect((await client.auth.verifyOtp({ email: address, token: toOld.code, type: 'email_change' })).error).toMatchObject({ code: 'email_exists', status: 422 });
    expect(await storedEmail(userId)).toBe(address);
  });

  it('sends the mails of a pending change again on resend, with new codes', async () => {
    const { client, address, userId } = await signedIn('resent');
    const target = email('resent-new');
    const seenOld = await outbox(app, address);
    expect((await client.auth.updateUser({ email: target })).error).toBeNull();
    const firstOld = await nextMail(app, address, seenOld);
    const firstNew = await nextMail(app, target);
    expect((await app.client().auth.resend({ type: 'email_change', email: address })).error).toBeNull();
    const toOld = await nextMail(app, address, [...seenOld, firstOld]);
    const toNew = await nextMail(app, target, [firstNew]);
    expect((await client.auth.verifyOtp({ email: target, token: firstNew.code, type: 'email_change' })).error?.code).toBe('otp_expired');
    expect((await client.auth.verifyOtp({ email: target, token: toNew.code, type: 'email_change' })).error).toBeNull();
    expect((await client.auth.verifyOtp({ email: address, token: toOld.code, type: 'email_change' })).error).toBeNull();
    expect(await storedEmail(userId)).toBe(target);
  });
});

describeEachDatabase('email change with secure email change off', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database(), { GOTRUE_MAILER_SECURE_EMAIL_CHANGE_ENABLED: 'false', LATCHKEY_SMTP_MAX_FREQUENCY: '0', LATCHKEY_RATE_LIMIT_EMAIL_SENT: '0' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('needs the new address only', async () => {
    const address = email('single');
    const client = app.client();
    const { data } = await client.auth.signUp({ email: address, password: PASSWORD });
    const target = email('single-new');
    const seenOld = await outbox(app, address);
    expect((await client.auth.updateUser({ email: target })).data.user!.email).toBe(address);
    const toNew = await nextMail(app, target);
    expect(await outbox(app, address)).toEqual(seenOld);
    const verified = await client.auth.verifyOtp({ email: target, token: toNew.code, type: 'email_change' });
    expect(verified.error).toBeNull();
    expect(verified.data.user!.email).toBe(target);
    expect((await app.admin().auth.admin.getUserById(data.user!.id)).data.user!.email).toBe(target);
  });
});
