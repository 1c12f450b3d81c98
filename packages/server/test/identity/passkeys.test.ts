import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { SoftwareAuthenticator, type CreationOptionsJSON, type RequestOptionsJSON } from '../../../../test-support/webauthn.js';
import { claimsOf, email, post, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'passkey-password-1';

/** A supabase-js client with passkeys turned on (they are experimental in supabase-js). */
function passkeyClient(app: IdentityServer, key = app.anonKey): SupabaseClient {
  return createClient(app.url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, experimental: { passkey: true } },
    realtime: { transport: WebSocket as never },
  });
}

/** The origin a browser on the server's `localhost` address reports. */
function localhostOrigin(app: IdentityServer): string {
  const url = new URL(app.url);
  return `${url.protocol}//localhost:${url.port}`;
}

/** A signed-up, signed-in user with a passkey-enabled client and a software authenticator. */
async function newUser(app: IdentityServer): Promise<{ client: SupabaseClient; id: string; address: string; authenticator: SoftwareAuthenticator; accessToken: string }> {
  const address = email('passkey');
  const client = passkeyClient(app);
  const signedUp = await client.auth.signUp({ email: address, password: PASSWORD });
  expect(signedUp.error).toBeNull();
  return { client, id: signedUp.data.user!.id, address, authenticator: new SoftwareAuthenticator(localhostOrigin(app)), accessToken: signedUp.data.session!.access_token };
}

/** Registers a passkey with supabase-js's two-step API; answers its id. */
async function register(user: { client: SupabaseClient; authenticator: SoftwareAuthenticator }): Promise<string> {
  const started = await user.client.auth.passkey.startRegistration();
  expect(started.error).toBeNull();
  const credential = user.authenticator.create(started.data!.options as unknown as CreationOptionsJSON);
  const verified = await user.client.auth.passkey.verifyRegistration({ challengeId: started.data!.challenge_id, credential: credential as never });
  expect(verified.error).toBeNull();
  return verified.data!.id;
}

describeEachDatabase('passkeys with supabase-js and a software authenticator', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('registers a passkey for the signed-in user and signs in with it (auth.passkey.*)', async () => {
    const user = await newUser(app);
    const started = await user.client.auth.passkey.startRegistration();
    expect(started.error).toBeNull();
    const options = started.data!.options as unknown as CreationOptionsJSON & Record<string, unknown>;
    expect(options).toMatchObject({
      rp: { id: 'localhost', name: 'Latchkey' },
      user: { id: Buffer.from(user.id).toString('base64url'), name: user.address },
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
      attestation: 'none',
    });
    expect(started.data!.expires_at).toBeGreaterThan(Date.now() / 1000);
    const credential = user.authenticator.create(options);
    const registered = await user.client.auth.passkey.verifyRegistration({ challengeId: started.data!.challenge_id, credential: credential as never });
    expect(registered.error).toBeNull();
    expect(registered.data).toEqual({ id: expect.any(String), friendly_name: 'Passkey', created_at: expect.any(String) });

    const listed = await user.client.auth.passkey.list();
    expect(listed.data).toEqual([{ id: registered.data!.id, friendly_name: 'Passkey', created_at: registered.data!.created_at }]);

    // Sign-in on another client: a discoverable credential, no user named up front.
    const device = passkeyClient(app);
    const challenge = await device.auth.passkey.startAuthentication();
    expect(challenge.error).toBeNull();
    expect((challenge.data!.options as unknown as RequestOptionsJSON & { allowCredentials?: unknown[] }).allowCredentials ?? []).toEqual([]);
    const assertion = user.authenticator.get(challenge.data!.options as unknown as RequestOptionsJSON);
    const signedIn = await device.auth.passkey.verifyAuthentication({ challengeId: challenge.data!.challenge_id, credential: assertion as never });
    expect(signedIn.error).toBeNull();
    expect(signedIn.data!.user!.id).toBe(user.id);
    const claims = claimsOf(signedIn.data!.session!.access_token);
    expect(claims).toMatchObject({ sub: user.id, aal: 'aal1' });
    expect((claims.amr as { method: string }[]).map((entry) => entry.method)).toEqual(['passkey']);
    expect((await device.auth.getSession()).data.session?.access_token).toBe(signedIn.data!.session!.access_token);

    const used = (await user.client.auth.passkey.list()).data!;
    expect(used[0]!.last_used_at).toEqual(expect.any(String));
    expect(((await (await fetch(`${app.auth}/settings`)).json()) as { passkeys_enabled: boolean }).passkeys_enabled).toBe(true);
  });

  it('uses every challenge once: a replayed sign-in or registration is webauthn_challenge_not_found', async () => {
    const user = await newUser(app);
    const started = await user.client.auth.passkey.startRegistration();
    const credential = user.authenticator.create(started.data!.options as unknown as CreationOptionsJSON);
    expect((await user.client.auth.passkey.verifyRegistration({ challengeId: started.data!.challenge_id, credential: credential as never })).error).toBeNull();
    const replayedRegistration = await user.client.auth.passkey.verifyRegistration({ challengeId: started.data!.challenge_id, credential: credential as never });
    expect(replayedRegistration.error).toMatchObject({ status: 400, code: 'webauthn_challenge_not_found', message: 'Challenge not found or already used' });

    const device = passkeyClient(app);
    const challenge = await device.auth.passkey.startAuthentication();
    const assertion = user.authenticator.get(challenge.data!.options as unknown as RequestOptionsJSON);
    expect((await device.auth.passkey.verifyAuthentication({ challengeId: challenge.data!.challenge_id, credential: assertion as never })).error).toBeNull();
    const replayed = await device.auth.passkey.verifyAuthentication({ challengeId: challenge.data!.challenge_id, credential: assertion as never });
    expect(replayed.error).toMatchObject({ status: 400, code: 'webauthn_challenge_not_found' });

    // The same signed assertion against a fresh challenge: the signed challenge does not match.
    const fresh = await device.auth.passkey.startAuthentication();
    const stale = await device.auth.passkey.verifyAuthentication({ challengeId: fresh.data!.challenge_id, credential: assertion as never });
    expect(stale.error).toMatchObject({ status: 400, code: 'webauthn_verification_failed', message: 'Credential verification failed' });

    // A sign-in challenge is no registration challenge, and the reverse.
    const signInChallenge = await device.auth.passkey.startAuthentication();
    const crossed = await user.client.auth.passkey.verifyRegistration({ challengeId: signInChallenge.data!.challenge_id, credential: credential as never });
    expect(crossed.error?.code).toBe('webauthn_challenge_not_found');
    const bad = await post(`${app.auth}/passkeys/authentication/verify`, { challenge_id: 'nope', credential: {} }, { apikey: app.anonKey, 'x-supabase-api-version': '2024-01-01' });
    expect(bad).toMatchObject({ status: 400, body: { code: 'validation_failed', message: 'challenge_id must be a valid UUID' } });
    const missing = await post(`${app.auth}/passkeys/authentication/verify`, { challenge_id: signInChallenge.data!.challenge_id }, { apikey: app.anonKey, 'x-supabase-api-version': '2024-01-01' });
    expect(missing).toMatchObject({ status: 400, body: { code: 'validation_failed', message: 'credential is required' } });
    const malformed = await post(`${app.auth}/passkeys/authentication/verify`, { challenge_id: signInChallenge.data!.challenge_id, credential: 'x' }, { apikey: app.anonKey, 'x-supabase-api-version': '2024-01-01' });
    expect(malformed).toMatchObject({ status: 400, body: { code: 'webauthn_verification_failed', message: 'Invalid credential response' } });
  });

  it('binds a registration challenge to the user and session that asked for it', async () => {
    const alice = await newUser(app);
    const bob = await newUser(app);
    const started = await alice.client.auth.passkey.startRegistration();
    const credential = alice.authenticator.create(started.data!.options as unknown as CreationOptionsJSON);
    const stolen = await bob.client.auth.passkey.verifyRegistration({ challengeId: started.data!.challenge_id, credential: credential as never });
    expect(stolen.error?.code).toBe('webauthn_challenge_not_found');
    // Alice's other session cannot finish it either.
    const otherSession = passkeyClient(app);
    expect((await otherSession.auth.signInWithPassword({ email: alice.address, password: PASSWORD })).error).toBeNull();
    expect((await otherSession.auth.passkey.verifyRegistration({ challengeId: started.data!.challenge_id, credential: credential as never })).error?.code).toBe('webauthn_challenge_not_found');
    // Refused attempts leave the challenge to its owner.
    expect((await alice.client.auth.passkey.verifyRegistration({ challengeId: started.data!.challenge_id, credential: credential as never })).error).toBeNull();
    expect((await bob.client.auth.passkey.list()).data).toEqual([]);
  });

  it('refuses a wrong origin, a wrong RP ID and a counter that does not grow', async () => {
    const user = await newUser(app);
    const passkeyId = await register(user);
    const credentialId = user.authenticator.credentialIds[0]!;
    const device = passkeyClient(app);
    const attempt = async (overrides: Parameters<SoftwareAuthenticator['get']>[1]) => {
      const challenge = await device.auth.passkey.startAuthentication();
      const assertion = user.authenticator.get(challenge.data!.options as unknown as RequestOptionsJSON, overrides);
      return device.auth.passkey.verifyAuthentication({ challengeId: challenge.data!.challenge_id, credential: assertion as never });
    };
    expect((await attempt({ origin: 'https://evil.example' })).error).toMatchObject({ status: 400, code: 'webauthn_verification_failed' });
    expect((await attempt({ origin: app.url.replace('127.0.0.1', 'localhost').replace(/:\d+$/, ':1') })).error?.code).toBe('webauthn_verification_failed');
    expect((await attempt({ rpId: 'evil.example' })).error?.code).toBe('webauthn_verification_failed');
    expect((await attempt({ type: 'webauthn.create' })).error?.code).toBe('webauthn_verification_failed');

    expect((await attempt({ signCount: 5 })).error).toBeNull();
    expect((await attempt({ signCount: 5 })).error?.code).toBe('webauthn_verification_failed');
    expect((await attempt({ signCount: 3 })).error?.code).toBe('webauthn_verification_failed');
    expect((await attempt({ signCount: 6 })).error).toBeNull();
    expect(user.authenticator.signCount(credentialId)).toBe(6);

    // The server's own origin on its loopback address is accepted too.
    const direct = new SoftwareAuthenticator(app.url);
    expect(direct.origin).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect(passkeyId).toEqual(expect.any(String));
  });

  it("refuses another user's credential: a user handle that does not own it, or a passkey id of someone else", async () => {
    const alice = await newUser(app);
    const bob = await newUser(app);
    const alicePasskey = await register(alice);
    await register(bob);
    const device = passkeyClient(app);
    const challenge = await device.auth.passkey.startAuthentication();
    const assertion = alice.authenticator.get(challenge.data!.options as unknown as RequestOptionsJSON);
    assertion.response.userHandle = Buffer.from(bob.id).toString('base64url');
    const refused = await device.auth.passkey.verifyAuthentication({ challengeId: challenge.data!.challenge_id, credential: assertion as never });
    expect(refused.error).toMatchObject({ status: 400, code: 'webauthn_verification_failed' });
    expect((await device.auth.getSession()).data.session).toBeNull();

    expect((await bob.client.auth.passkey.update({ passkeyId: alicePasskey, friendlyName: 'mine now' })).error).toMatchObject({ status: 404, message: 'Passkey not found' });
    expect((await bob.client.auth.passkey.delete({ passkeyId: alicePasskey })).error).toMatchObject({ status: 404, message: 'Passkey not found' });
    expect((await alice.client.auth.passkey.list()).data!.map((passkey) => passkey.id)).toEqual([alicePasskey]);
  });

  it('renames and deletes passkeys; a deleted passkey no longer signs in; admins list and delete them', async () => {
    const user = await newUser(app);
    const first = await register(user);
    // A second device: one authenticator holds one credential per account.
    const phone = new SoftwareAuthenticator(localhostOrigin(app));
    const second = await register({ client: user.client, authenticator: phone });
    const renamed = await user.client.auth.passkey.update({ passkeyId: first, friendlyName: 'Laptop' });
    expect(renamed.error).toBeNull();
    expect(renamed.data).toMatchObject({ id: first, friendly_name: 'Laptop' });
    expect((await user.client.auth.passkey.update({ passkeyId: first, friendlyName: '' })).error).toMatchObject({ status: 400, code: 'validation_failed', message: 'friendly_name is required' });
    expect((await user.client.auth.passkey.update({ passkeyId: first, friendlyName: 'x'.repeat(121) })).error).toMatchObject({ status: 400, message: 'friendly_name must be 120 characters or less' });

    const removed = await user.client.auth.passkey.delete({ passkeyId: second });
    expect(removed.error).toBeNull();
    const device = passkeyClient(app);
    const challenge = await device.auth.passkey.startAuthentication();
    const withDeleted = phone.get(challenge.data!.options as unknown as RequestOptionsJSON);
    expect((await device.auth.passkey.verifyAuthentication({ challengeId: challenge.data!.challenge_id, credential: withDeleted as never })).error?.code).toBe('webauthn_verification_failed');

    const admin = passkeyClient(app, app.serviceRoleKey);
    const listed = await admin.auth.admin.passkey.listPasskeys({ userId: user.id });
    expect(listed.error).toBeNull();
    expect(listed.data).toEqual([expect.objectContaining({ id: first, friendly_name: 'Laptop' })]);
    expect((await admin.auth.admin.passkey.deletePasskey({ userId: user.id, passkeyId: first })).error).toBeNull();
    expect((await user.client.auth.passkey.list()).data).toEqual([]);
    const asUser = await fetch(`${app.auth}/admin/users/${user.id}/passkeys`, { headers: { apikey: app.anonKey, authorization: `Bearer ${user.accessToken}` } });
    expect(asUser.status).toBe(403);
  });
});

describeEachDatabase('passkey settings', (database) => {
  it('answers 404 passkey_disabled when passkeys are off, and checks the configured RP ID and origins', async () => {
    const off = await startIdentity(database(), { GOTRUE_PASSKEY_ENABLED: 'false' });
    try {
      const refused = await passkeyClient(off).auth.passkey.startAuthentication();
      expect(refused.error).toMatchObject({ status: 404, code: 'passkey_disabled', message: 'Passkeys are disabled' });
      expect(((await (await fetch(`${off.auth}/settings`)).json()) as { passkeys_enabled: boolean }).passkeys_enabled).toBe(false);
    } finally {
      await off.close();
    }
    const configured = await startIdentity(database(), {
      LATCHKEY_WEBAUTHN_RP_ID: 'app.example.test',
      LATCHKEY_WEBAUTHN_RP_ORIGINS: 'https://app.example.test,https://admin.example.test',
      GOTRUE_WEBAUTHN_RP_DISPLAY_NAME: 'Example',
      GOTRUE_WEBAUTHN_CHALLENGE_EXPIRY_DURATION: '1s',
      GOTRUE_RATE_LIMIT_PASSKEY: '2',
    });
    try {
      const user = await newUser(configured);
      user.authenticator = new SoftwareAuthenticator('https://admin.example.test');
      const started = await user.client.auth.passkey.startRegistration();
      expect((started.data!.options as unknown as CreationOptionsJSON).rp).toEqual({ id: 'app.example.test', name: 'Example' });
      const credential = user.authenticator.create(started.data!.options as unknown as CreationOptionsJSON);
      expect((await user.client.auth.passkey.verifyRegistration({ challengeId: started.data!.challenge_id, credential: credential as never })).error).toBeNull();
      // The default origins no longer count once origins are configured.
      const local = new SoftwareAuthenticator(localhostOrigin(configured));
      const again = await user.client.auth.passkey.startRegistration();
      const elsewhere = local.create(again.data!.options as unknown as CreationOptionsJSON);
      expect((await user.client.auth.passkey.verifyRegistration({ challengeId: again.data!.challenge_id, credential: elsewhere as never })).error?.code).toBe('webauthn_verification_failed');

      // Challenges expire (here after 1 s), and are used up all the same.
      const device = passkeyClient(configured);
      const late = await device.auth.passkey.startAuthentication();
      const assertion = user.authenticator.get(late.data!.options as unknown as RequestOptionsJSON);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const expired = await device.auth.passkey.verifyAuthentication({ challengeId: late.data!.challenge_id, credential: assertion as never });
      expect(expired.error).toMatchObject({ status: 400, code: 'webauthn_challenge_expired', message: 'Challenge has expired' });
      expect((await device.auth.passkey.verifyAuthentication({ challengeId: late.data!.challenge_id, credential: assertion as never })).error?.code).toBe('webauthn_challenge_not_found');
      // Sign-in ceremonies started per client address are limited (RATE_LIMIT_PASSKEY, here 2).
      expect((await device.auth.passkey.startAuthentication()).error).toBeNull();
      expect((await device.auth.passkey.startAuthentication()).error).toMatchObject({ status: 429, code: 'over_request_rate_limit' });
    } finally {
      await configured.close();
    }
  });
});
