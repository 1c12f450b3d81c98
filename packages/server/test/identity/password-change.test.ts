import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { nextMail, outbox } from './outbox.js';
import { claimsOf, email, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'correct-horse-1';

/** The error code `GET /user` answers for an access token (`null` when it works). */
async function userError(app: IdentityServer, accessToken: string): Promise<string | null> {
  const response = await fetch(`${app.auth}/user`, { headers: { authorization: `Bearer ${accessToken}`, 'x-supabase-api-version': '2024-01-01' } });
  return response.ok ? null : ((await response.json()) as { code: string }).code;
}

/** One account signed in on two devices. */
async function twoDevices(app: IdentityServer) {
  const address = email('devices');
  const here = app.client();
  const signedUp = await here.auth.signUp({ email: address, password: PASSWORD });
  expect(signedUp.error).toBeNull();
  const there = app.client();
  const signedIn = await there.auth.signInWithPassword({ email: address, password: PASSWORD });
  expect(signedIn.error).toBeNull();
  return { address, userId: signedUp.data.user!.id, here, there, hereSession: signedUp.data.session!, thereSession: signedIn.data.session! };
}

describeEachDatabase('password change', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('ends every other session of the user and records a password_changed event', async () => {
    const { userId, here, there, hereSession, thereSession } = await twoDevices(app);
    const changed = await here.auth.updateUser({ password: 'new-horse-2' });
    expect(changed.error).toBeNull();

    // The other device is signed out: its access token names a dead session, its refresh token is gone.
    expect(await userError(app, thereSession.access_token)).toBe('session_not_found');
    expect((await app.client().auth.refreshSession({ refresh_token: thereSession.refresh_token })).error?.status).toBe(400);
    // The device that changed the password carries on.
    expect((await here.auth.getUser()).error).toBeNull();
    expect((await app.client().auth.refreshSession({ refresh_token: hereSession.refresh_token })).error).toBeNull();

    const { rows } = await database().query<{ kind: string; session_ids: string[] }>('select kind, session_ids::text[] as session_ids from auth.revocation_events where user_id = $1', [userId]);
    expect(rows).toEqual([{ kind: 'password_changed', session_ids: [claimsOf(thereSession.access_token).session_id] }]);
  });

  it('ends no session when only the profile changes', async () => {
    const { there, here } = await twoDevices(app);
    expect((await here.auth.updateUser({ data: { nickname: 'kim' } })).error).toBeNull();
    expect((await there.auth.getUser()).error).toBeNull();
  });
});

describeEachDatabase('password change that keeps other sessions', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database(), { LATCHKEY_PASSWORD_CHANGE_ENDS_SESSIONS: 'false' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('leaves the other sessions alive when configured so', async () => {
    const { userId, here, there } = await twoDevices(app);
    expect((await here.auth.updateUser({ password: 'new-horse-2' })).error).toBeNull();
    expect((await there.auth.getUser()).error).toBeNull();
    const { rows } = await database().query('select 1 from auth.revocation_events where user_id = $1', [userId]);
    expect(rows).toHaveLength(0);
  });
});

describeEachDatabase('password change with reauthentication', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database(), {
      GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION: 'true',
      LATCHKEY_SMTP_MAX_FREQUENCY: '0',
      LATCHKEY_RATE_LIMIT_EMAIL_SENT: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('needs a nonce mailed by /reauthenticate; a stolen access token alone cannot change the password', async () => {
    const { address, here, thereSession } = await twoDevices(app);
    const bare = await here.auth.updateUser({ password: 'new-horse-2' });
    expect(bare.error).toMatchObject({ code: 'reauthentication_needed', status: 400 });

    const seen = await outbox(app, address);
    expect((await here.auth.reauthenticate()).error).toBeNull();
    const mail = await nextMail(app, address, seen);
    expect(mail.subject).toBe('Confirm reauthentication');
    expect(mail.code).toMatch(/^\d{6}$/);

    const wrongNonce = String((Number(mail.code) + 1) % 1_000_000).padStart(6, '0');
    const wrong = await here.auth.updateUser({ password: 'new-horse-2', nonce: wrongNonce });
    expect(wrong.error).toMatchObject({ code: 'reauthentication_not_valid', status: 422 });
    // The nonce is for this user's address only.
    const other = await twoDevices(app);
    expect((await other.here.auth.updateUser({ password: 'new-horse-2', nonce: mail.code })).error?.code).toBe('reauthentication_not_valid');

    const changed = await here.auth.updateUser({ password: 'new-horse-2', nonce: mail.code });
    expect(changed.error).toBeNull();
    expect((await app.client().auth.signInWithPassword({ email: address, password: 'new-horse-2' })).error).toBeNull();
    expect(await userError(app, thereSession.access_token)).toBe('session_not_found');

    // Used once.
    const again = await here.auth.updateUser({ password: 'third-horse-3', nonce: mail.code });
    expect(again.error?.code).toBe('reauthentication_not_valid');
    // Other changes need no nonce.
    expect((await here.auth.updateUser({ data: { nickname: 'kim' } })).error).toBeNull();
  });

  it('refuses /reauthenticate without a signed-in user', async () => {
    const response = await fetch(`${app.auth}/reauthenticate`, { headers: { apikey: app.anonKey } });
    expect(response.status).toBe(401);
  });
});
