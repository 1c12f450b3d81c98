import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { email, post, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'admin-made-1';

describeEachDatabase('admin user API as GoTrue answers it', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('returns user_metadata exactly as given, and app_metadata with the given keys beside provider/providers', async () => {
    const admin = app.admin().auth.admin;
    const user_metadata = { profile_image: 'https://avatars.example.com/1.png', nested: { a: [1, 2] }, empty: null };
    const app_metadata = { tier: 'gold', provider: 'ignored-is-kept' };
    const created = await admin.createUser({ email: email('meta'), password: PASSWORD, user_metadata, app_metadata });
    expect(created.error).toBeNull();
    expect(created.data.user!.user_metadata).toEqual(user_metadata);
    expect(created.data.user!.app_metadata).toEqual({ provider: 'ignored-is-kept', providers: ['email'], tier: 'gold' });
    const id = created.data.user!.id;
    expect((await admin.getUserById(id)).data.user!.user_metadata).toEqual(user_metadata);

    const plain = await admin.createUser({ email: email('plain') });
    expect(plain.data.user!.user_metadata).toEqual({});
    const updated = await admin.updateUserById(plain.data.user!.id, { user_metadata: { favorite_color: 'yellow' } });
    expect(updated.data.user!.user_metadata).toEqual({ favorite_color: 'yellow' });
    // null removes a key; other keys stay.
    const removed = await admin.updateUserById(id, { user_metadata: { empty: null, added: true }, app_metadata: { tier: null } });
    expect(removed.data.user!.user_metadata).toEqual({ profile_image: user_metadata.profile_image, nested: { a: [1, 2] }, added: true });
    expect(removed.data.user!.app_metadata).toEqual({ provider: 'ignored-is-kept', providers: ['email'] });
  });

  it('confirms on email_confirm / phone_confirm (email_verified joins user_metadata, as GoTrue) and not otherwise', async () => {
    const admin = app.admin().auth.admin;
    const unconfirmed = email('unconfirmed');
    const waiting = await admin.createUser({ email: unconfirmed, password: PASSWORD, user_metadata: { a: 1 } });
    expect(waiting.data.user!.email_confirmed_at).toBeUndefined();
    expect((await app.client().auth.signInWithPassword({ email: unconfirmed, password: PASSWORD })).error?.code).toBe('email_not_confirmed');
    const confirmed = await admin.updateUserById(waiting.data.user!.id, { email_confirm: true });
    expect(confirmed.data.user!.email_confirmed_at).toBeTruthy();
    expect(confirmed.data.user!.user_metadata).toEqual({ a: 1, email_verified: true });
    expect((await app.client().auth.signInWithPassword({ email: unconfirmed, password: PASSWORD })).error).toBeNull();

    const both = await admin.createUser({ email: email('both'), phone: '+14155550123', email_confirm: true, phone_confirm: true, user_metadata: { b: 2 } });
    expect(both.error).toBeNull();
    expect(both.data.user!.phone).toBe('14155550123');
    expect(both.data.user!.phone_confirmed_at).toBeTruthy();
    expect(both.data.user!.user_metadata).toEqual({ b: 2, email_verified: true });
    expect(both.data.user!.app_metadata.providers).toEqual(['email', 'phone']);
  });

  it('bans for a Go duration, lifts with none, and refuses a malformed duration', async () => {
    const admin = app.admin().auth.admin;
    const address = email('banned');
    const { data } = await admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
    const id = data.user!.id;
    const banned = await admin.updateUserById(id, { ban_duration: '1h30m' });
    expect(banned.error).toBeNull();
    const until = Date.parse(banned.data.user!.banned_until!);
    expect(until - Date.now()).toBeGreaterThan(85 * 60_000);
    expect(until - Date.now()).toBeLessThan(95 * 60_000);
    expect((await app.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error?.code).toBe('user_banned');

    const lifted = await admin.updateUserById(id, { ban_duration: 'none' });
    expect(lifted.data.user!.banned_until).toBeUndefined();
    expect((await app.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error).toBeNull();

    const past = await admin.updateUserById(id, { ban_duration: '-1h' });
    expect(past.error).toBeNull();
    expect((await app.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error).toBeNull();

    const bad = await admin.updateUserById(id, { ban_duration: 'forever' });
    expect(bad.error?.status).toBe(400);
    expect(bad.error?.code).toBe('validation_failed');
    expect(bad.error?.message).toBe('invalid format for ban duration: time: invalid duration "forever"');

    const atCreation = await admin.createUser({ email: email('born-banned'), password: PASSWORD, email_confirm: true, ban_duration: '24h' });
    expect(Date.parse(atCreation.data.user!.banned_until!)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
  });

  it('answers GoTrue validation messages for addresses, numbers, ids and passwords', async () => {
    const admin = app.admin().auth.admin;
    for (const address of ['xx:;x@x.x', 'no-at-sign', 'a b@example.com', 'x@-example.com']) {
      const refused = await admin.createUser({ email: address, password: PASSWORD });
      expect(refused.error?.status, address).toBe(400);
      expect(refused.error?.code).toBe('validation_failed');
      expect(refused.error?.message).toBe('Unable to validate email address: invalid format');
    }
    const long = await admin.createUser({ email: `${'a'.repeat(250)}@example.com` });
    expect(long.error?.message).toBe('An email address is too long');
    const phone = await admin.createUser({ phone: '12ab' });
    expect(phone.error?.status).toBe(400);
    expect(phone.error?.message).toBe('Invalid phone number format (E.164 required)');
    const neither = await admin.createUser({ password: PASSWORD });
    expect(neither.error?.status).toBe(400);
    expect(neither.error?.message).toBe('Cannot create a user without either an email or phone');
    const both = await admin.createUser({ email: email('two-secrets'), password: PASSWORD, password_hash: '$2a$10$abcdefghijklmnopqrstuuq0ZbQbq8m7BvH5Xk3GjMZ9zY8Jq5e2K' } as never);
    expect(both.error?.message).toBe('Only a password or a password hash should be provided');
    const badId = await post(`${app.auth}/admin/users`, { id: 'not-a-uuid', email: email('bad-id') }, { authorization: `Bearer ${app.serviceRoleKey}`, 'x-supabase-api-version': '2024-01-01' });
    expect(badId.status).toBe(400);
    expect(badId.body.message).toBe('ID must conform to the uuid v4 format');
    const nilId = await post(`${app.auth}/admin/users`, { id: '00000000-0000-0000-0000-000000000000', email: email('nil-id') }, { authorization: `Bearer ${app.serviceRoleKey}`, 'x-supabase-api-version': '2024-01-01' });
    expect(nilId.body.message).toBe('ID cannot be a nil uuid');
    const update = await admin.updateUserById((await admin.createUser({ email: email('upd') })).data.user!.id, { email: 'broken@' });
    expect(update.error?.message).toBe('Unable to validate email address: invalid format');
  });

  it('answers signInWithOtp with shouldCreateUser false for an unknown address with 422 otp_disabled', async () => {
    const refused = await app.client().auth.signInWithOtp({ email: email('otp-unknown'), options: { shouldCreateUser: false } });
    expect(refused.error?.status).toBe(422);
    expect(refused.error?.code).toBe('otp_disabled');
    expect(refused.error?.message).toBe('Signups not allowed for otp');
    const known = email('otp-known');
    await app.admin().auth.admin.createUser({ email: known, email_confirm: true });
    expect((await app.client().auth.signInWithOtp({ email: known, options: { shouldCreateUser: false } })).error).toBeNull();
  });
});
