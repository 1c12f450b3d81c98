import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { SoftwareAuthenticator, type CreationOptionsJSON, type RequestOptionsJSON } from '../../../../test-support/webauthn.js';
import { claimsOf, email, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'webauthn-password-1';

function client(app: IdentityServer): SupabaseClient {
  return createClient(app.url, app.anonKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, experimental: { passkey: true } },
    realtime: { transport: WebSocket as never },
  });
}

/** supabase-js hands challenge options over with binary fields as ArrayBuffers: back to base64url JSON. */
function asJson<T>(value: unknown): T {
  const convert = (item: unknown): unknown => {
    if (item instanceof ArrayBuffer) return Buffer.from(item).toString('base64url');
    if (ArrayBuffer.isView(item)) return Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('base64url');
    if (Array.isArray(item)) return item.map(convert);
    if (item && typeof item === 'object') return Object.fromEntries(Object.entries(item).map(([key, inner]) => [key, convert(inner)]));
    return item;
  };
  return convert(value) as T;
}

/** A credential as a WebAuthn Level 3 browser hands it over: with `toJSON()`. */
function browserCredential<T extends object>(json: T): T & { toJSON(): T } {
  return { ...json, toJSON: () => json };
}

interface Enrolled {
  readonly client: SupabaseClient;
  readonly address: string;
  readonly factorId: string;
  readonly authenticator: SoftwareAuthenticator;
  readonly origin: string;
}

async function enrolledUser(app: IdentityServer): Promise<Enrolled> {
  const address = email('webauthn');
  const user = client(app);
  expect((await user.auth.signUp({ email: address, password: PASSWORD })).error).toBeNull();
  const enrolled = await user.auth.mfa.enroll({ factorType: 'webauthn', friendlyName: 'Security key' });
  expect(enrolled.error).toBeNull();
  expect(enrolled.data).toMatchObject({ id: expect.any(String), type: 'webauthn', friendly_name: 'Security key' });
  const factorId = enrolled.data!.id;
  const url = new URL(app.url);
  const origin = `${url.protocol}//localhost:${url.port}`;
  const authenticator = new SoftwareAuthenticator(origin);
  const challenge = await user.auth.mfa.challenge({ factorId, webauthn: { rpId: 'localhost', rpOrigins: [origin] } });
  expect(challenge.error).toBeNull();
  const data = challenge.data as unknown as { id: string; type: string; expires_at: number; webauthn: { type: string; credential_options: { publicKey: unknown } } };
  expect(data).toMatchObject({ type: 'webauthn', webauthn: { type: 'create' } });
  const options = asJson<CreationOptionsJSON>(data.webauthn.credential_options.publicKey);
  expect(options.rp.id).toBe('localhost');
  const credential = authenticator.create(options);
  const verified = await user.auth.mfa.verify({
    factorId,
    challengeId: data.id,
    webauthn: { type: 'create', rpId: 'localhost', rpOrigins: [origin], credential_response: browserCredential(credential) as never },
  } as never);
  expect(verified.error).toBeNull();
  const claims = claimsOf((verified.data as unknown as { access_token: string }).access_token);
  expect(claims.aal).toBe('aal2');
  expect((claims.amr as { method: string }[])[0]!.method).toBe('mfa/webauthn');
  return { client: user, address, factorId, authenticator, origin };
}

/** Signs in with the password (aal1) and answers a `request` challenge of the factor as JSON options. */
async function requestChallenge(app: IdentityServer, user: Enrolled, session: SupabaseClient = client(app)): Promise<{ session: SupabaseClient; id: string; options: RequestOptionsJSON }> {
  if (!(await session.auth.getSession()).data.session) expect((await session.auth.signInWithPassword({ email: user.address, password: PASSWORD })).error).toBeNull();
  const challenge = await session.auth.mfa.challenge({ factorId: user.factorId, webauthn: { rpId: 'localhost', rpOrigins: [user.origin] } });
  expect(challenge.error).toBeNull();
  const data = challenge.data as unknown as { id: string; webauthn: { type: string; credential_options: { publicKey: unknown } } };
  expect(data.webauthn.type).toBe('request');
  return { session, id: data.id, options: asJson<RequestOptionsJSON>(data.webauthn.credential_options.publicKey) };
}

function verifyRequest(user: Enrolled, session: SupabaseClient, challengeId: string, assertion: object) {
  return session.auth.mfa.verify({
    factorId: user.factorId,
    challengeId,
    webauthn: { type: 'request', rpId: 'localhost', rpOrigins: [user.origin], credential_response: browserCredential(assertion) as never },
  } as never);
}

describeEachDatabase('WebAuthn second factors with supabase-js', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('enrols a WebAuthn factor (mfa.enroll factorType webauthn), then steps a new session up to aal2 with it', async () => {
    const user = await enrolledUser(app);
    const factors = await user.client.auth.mfa.listFactors();
    expect(factors.data!.all).toEqual([expect.objectContaining({ id: user.factorId, factor_type: 'webauthn', status: 'verified', friendly_name: 'Security key' })]);

    const { session, id, options } = await requestChallenge(app, user);
    expect(options.allowCredentials?.map((entry) => entry.id)).toEqual(user.authenticator.credentialIds);
    expect((await session.auth.mfa.getAuthenticatorAssuranceLevel()).data).toMatchObject({ currentLevel: 'aal1', nextLevel: 'aal2' });
    const verified = await verifyRequest(user, session, id, user.authenticator.get(options));
    expect(verified.error).toBeNull();
    const claims = claimsOf((verified.data as unknown as { access_token: string }).access_token);
    expect(claims.aal).toBe('aal2');
    expect((claims.amr as { method: string }[]).map((entry) => entry.method)).toEqual(['mfa/webauthn', 'password']);
  });

  it('refuses a replayed challenge, another session\'s challenge, a wrong origin and a counter that does not grow', async () => {
    const user = await enrolledUser(app);
    const first = await requestChallenge(app, user);
    const assertion = user.authenticator.get(first.options);
    expect((await verifyRequest(user, first.session, first.id, assertion)).error).toBeNull();
    const replayed = await verifyRequest(user, first.session, first.id, assertion);
    expect(replayed.error).toMatchObject({ status: 422, code: 'mfa_factor_not_found' });

    // A challenge answers only in the session that asked for it.
    const asked = await requestChallenge(app, user);
    const other = await requestChallenge(app, user);
    const stolen = await verifyRequest(user, other.session, asked.id, user.authenticator.get(asked.options));
    expect(stolen.error?.code).toBe('mfa_factor_not_found');

    const wrongOrigin = await requestChallenge(app, user);
    const fromElsewhere = await verifyRequest(user, wrongOrigin.session, wrongOrigin.id, user.authenticator.get(wrongOrigin.options, { origin: 'https://evil.example' }));
    expect(fromElsewhere.error).toMatchObject({ status: 400, code: 'webauthn_verification_failed' });

    const accepted = await requestChallenge(app, user);
    expect((await verifyRequest(user, accepted.session, accepted.id, user.authenticator.get(accepted.options, { signCount: 10 }))).error).toBeNull();
    // (Challenges and verifications per factor are limited: this test stays within 15.)
    const regressed = await requestChallenge(app, user);
    const cloned = await verifyRequest(user, regressed.session, regressed.id, user.authenticator.get(regressed.options, { signCount: 10 }));
    expect(cloned.error?.code).toBe('webauthn_verification_failed');
    expect((await regressed.session.auth.mfa.getAuthenticatorAssuranceLevel()).data?.currentLevel).toBe('aal1');
  });

  it("keeps factor credentials apart from passkeys, and needs aal2 to manage passkeys once a factor is verified", async () => {
    const user = await enrolledUser(app);
    // The factor's credential is no passkey: it does not sign in alone.
    const device = client(app);
    const start = await device.auth.passkey.startAuthentication();
    const assertion = user.authenticator.get({ ...(start.data!.options as unknown as RequestOptionsJSON), rpId: 'localhost' });
    const refused = await device.auth.passkey.verifyAuthentication({ challengeId: start.data!.challenge_id, credential: assertion as never });
    expect(refused.error?.code).toBe('webauthn_verification_failed');
    expect((await user.client.auth.passkey.list()).data).toEqual([]);

    const aal1 = client(app);
    expect((await aal1.auth.signInWithPassword({ email: user.address, password: PASSWORD })).error).toBeNull();
    const blocked = await aal1.auth.passkey.startRegistration();
    expect(blocked.error).toMatchObject({ status: 403, code: 'insufficient_aal', message: 'AAL2 session is required to manage passkeys when MFA is enabled' });
    // At aal2 (the session that verified the factor) registration is allowed.
    expect((await user.client.auth.passkey.startRegistration()).error).toBeNull();
  });
});

describeEachDatabase('WebAuthn second factor settings', (database) => {
  it('answers GoTrue\'s codes when WebAuthn factors are off', async () => {
    const app = await startIdentity(database(), { GOTRUE_MFA_WEB_AUTHN_ENROLL_ENABLED: 'false' });
    try {
      const user = client(app);
      expect((await user.auth.signUp({ email: email('webauthn-off'), password: PASSWORD })).error).toBeNull();
      const refused = await user.auth.mfa.enroll({ factorType: 'webauthn' });
      expect(refused.error).toMatchObject({ status: 422, code: 'mfa_webauthn_enroll_not_enabled', message: 'MFA enroll is disabled for WebAuthn' });
    } finally {
      await app.close();
    }
  });
});
