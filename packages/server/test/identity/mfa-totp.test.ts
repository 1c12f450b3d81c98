import { authenticator } from 'otplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { email, post, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'correct-horse-1';

/** The code of the current step shifted by `offsetSteps` (an earlier step leaves the current one unused). */
function codeAt(secret: string, offsetSteps: number): string {
  return authenticator.clone({ epoch: Date.now() + offsetSteps * 30_000 }).generate(secret);
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

describeEachDatabase('TOTP second factor', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  async function signedInClient() {
    const address = email('mfa');
    const client = app.client();
    const { error } = await client.auth.signUp({ email: address, password: PASSWORD });
    expect(error).toBeNull();
    return { client, address };
  }

  it('enrolls, challenges and verifies through supabase-js, reaching aal2', async () => {
    const { client } = await signedInClient();
    const enrolled = await client.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'authenticator' });
    expect(enrolled.error).toBeNull();
    const factor = enrolled.data!;
    expect(factor.type).toBe('totp');
    expect(factor.friendly_name).toBe('authenticator');
    expect(factor.totp.qr_code.startsWith('data:image/svg+xml;utf-8,<svg')).toBe(true);
    expect(factor.totp.uri).toMatch(/^otpauth:\/\/totp\/.+secret=/);
    expect(factor.totp.secret).toMatch(/^[A-Z2-7]+$/);

    const before = await client.auth.mfa.getAuthenticatorAssuranceLevel();
    expect(before.data).toMatchObject({ currentLevel: 'aal1', nextLevel: 'aal1' });

    const challenge = await client.auth.mfa.challenge({ factorId: factor.id });
    expect(challenge.error).toBeNull();
    expect(challenge.data!.expires_at).toBeGreaterThan(Date.now() / 1000 + 200);

    const wrong = await client.auth.mfa.verify({ factorId: factor.id, challengeId: challenge.data!.id, code: codeAt(factor.totp.secret, 5) });
    expect(wrong.error?.code).toBe('mfa_verification_failed');
    expect(wrong.error?.status).toBe(422);

    const second = await client.auth.mfa.challenge({ factorId: factor.id });
    const verified = await client.auth.mfa.verify({ factorId: factor.id, challengeId: second.data!.id, code: codeAt(factor.totp.secret, 0) });
    expect(verified.error).toBeNull();
    const claims = claimsOf(verified.data!.access_token);
    expect(claims.aal).toBe('aal2');
    expect((claims.amr as { method: string }[]).map((entry) => entry.method)).toEqual(['totp', 'password']);

    const level = await client.auth.mfa.getAuthenticatorAssuranceLevel();
    expect(level.data).toMatchObject({ currentLevel: 'aal2', nextLevel: 'aal2' });
    const listed = await client.auth.mfa.listFactors();
    expect(listed.data!.totp.map((entry) => entry.id)).toEqual([factor.id]);
    expect(listed.data!.all[0]).toMatchObject({ id: factor.id, factor_type: 'totp', status: 'verified', friendly_name: 'authenticator' });

    const { data: user } = await client.auth.getUser();
    expect(user.user!.factors).toHaveLength(1);

    // The session keeps aal2 across a refresh.
    const refreshed = await client.auth.refreshSession();
    expect(claimsOf(refreshed.data.session!.access_token).aal).toBe('aal2');

    const removed = await client.auth.mfa.unenroll({ factorId: factor.id });
    expect(removed.error).toBeNull();
    expect(removed.data).toMatchObject({ id: factor.id });
    expect((await client.auth.mfa.listFactors()).data!.all).toEqual([]);
  });

  it('accepts a code once per time step, and refuses an expired challenge', async () => {
    const { client } = await signedInClient();
    const { data: factor } = await client.auth.mfa.enroll({ factorType: 'totp' });
    const secret = factor!.totp.secret;
    const code = codeAt(secret, -1);
    const first = await client.auth.mfa.challengeAndVerify({ factorId: factor!.id, code });
    expect(first.error).toBeNull();

    const replay = await client.auth.mfa.challengeAndVerify({ factorId: factor!.id, code });
    expect(replay.error?.code).toBe('mfa_verification_failed');

    const challenge = await client.auth.mfa.challenge({ factorId: factor!.id });
    await database().query(`update auth.mfa_challenges set created_at = now() - interval '301 seconds' where id = $1`, [challenge.data!.id]);
    const expired = await client.auth.mfa.verify({ factorId: factor!.id, challengeId: challenge.data!.id, code: codeAt(secret, 0) });
    expect(expired.error?.code).toBe('mfa_challenge_expired');
    // The expired challenge is gone; the code is still unused and works with a fresh challenge.
    const fresh = await client.auth.mfa.challengeAndVerify({ factorId: factor!.id, code: codeAt(secret, 0) });
    expect(fresh.error).toBeNull();
  });

  it('needs aal2 to enroll another factor or unenroll a verified one', async () => {
    const { client, address } = await signedInClient();
    const { data: factor } = await client.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'one' });
    await client.auth.mfa.challengeAndVerify({ factorId: factor!.id, code: codeAt(factor!.totp.secret, 0) });

    const other = app.client();
    await other.auth.signInWithPassword({ email: address, password: PASSWORD });
    expect((await other.auth.mfa.getAuthenticatorAssuranceLevel()).data).toMatchObject({ currentLevel: 'aal1', nextLevel: 'aal2' });
    const enroll = await other.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'two' });
    expect(enroll.error?.code).toBe('insufficient_aal');
    const unenroll = await other.auth.mfa.unenroll({ factorId: factor!.id });
    expect(unenroll.error?.code).toBe('insufficient_aal');

    const duplicate = await client.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'one' });
    expect(duplicate.error?.code).toBe('mfa_factor_name_conflict');
    const unknown = await client.auth.mfa.challenge({ factorId: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.error?.code).toBe('mfa_factor_not_found');
  });

  it('lets admins list and delete a user\'s factors', async () => {
    const { client } = await signedInClient();
    const { data: factor } = await client.auth.mfa.enroll({ factorType: 'totp' });
    const { data: user } = await client.auth.getUser();
    const admin = app.admin();
    const listed = await admin.auth.admin.mfa.listFactors({ userId: user.user!.id });
    expect(listed.error).toBeNull();
    expect(listed.data!.factors.map((entry) => entry.id)).toEqual([factor!.id]);
    expect(listed.data!.factors[0]).not.toHaveProperty('secret');
    const deleted = await admin.auth.admin.mfa.deleteFactor({ userId: user.user!.id, id: factor!.id });
    expect(deleted.error).toBeNull();
    expect((await admin.auth.admin.mfa.listFactors({ userId: user.user!.id })).data!.factors).toEqual([]);
    const anon = await post(`${app.auth}/factors`, { factor_type: 'totp' }, { authorization: `Bearer ${app.anonKey}` });
    expect(anon.status).toBe(403);
  });
});
