import { authenticator } from 'otplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { claimsOf, email, refreshWith, startIdentity, type IdentityServer } from './support.js';

describeEachDatabase('TOTP step-up and older refresh tokens', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    // A wide reuse window: the replays below come well inside it.
    app = await startIdentity(database(), { LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '60' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('revokes the session\'s refresh tokens from before the step-up outright, even inside the reuse window', async () => {
    const client = app.client();
    const signedUp = await client.auth.signUp({ email: email('step-up'), password: 'correct-horse-1' });
    expect(signedUp.error).toBeNull();
    const first = signedUp.data.session!.refresh_token;
    const rotated = await refreshWith(app, first);
    expect(rotated.status).toBe(200);
    const second = rotated.body.refresh_token as string;
    await client.auth.setSession({ access_token: rotated.body.access_token as string, refresh_token: second });

    const enrolled = await client.auth.mfa.enroll({ factorType: 'totp' });
    expect(enrolled.error).toBeNull();
    const challenge = await client.auth.mfa.challenge({ factorId: enrolled.data!.id });
    const verified = await client.auth.mfa.verify({ factorId: enrolled.data!.id, challengeId: challenge.data!.id, code: authenticator.generate(enrolled.data!.totp.secret) });
    expect(verified.error).toBeNull();
    expect(claimsOf(verified.data!.access_token).aal).toBe('aal2');

    for (const stale of [first, second]) {
      const replayed = await refreshWith(app, stale);
      expect(replayed.status).toBe(400);
      expect(replayed.body.code).toBe('refresh_token_not_found');
      expect(replayed.body.access_token).toBeUndefined();
    }

    // The refresh token issued with the step-up carries on at aal2.
    const carried = await refreshWith(app, verified.data!.refresh_token);
    expect(carried.status).toBe(200);
    expect(claimsOf(carried.body.access_token as string).aal).toBe('aal2');
  });

  it('needs an aal2 session to change the password or the email of a user with a verified factor (as GoTrue)', async () => {
    const address = email('guarded');
    const client = app.client();
    expect((await client.auth.signUp({ email: address, password: 'correct-horse-1' })).error).toBeNull();
    const enrolled = await client.auth.mfa.enroll({ factorType: 'totp' });
    const challenge = await client.auth.mfa.challenge({ factorId: enrolled.data!.id });
    expect((await client.auth.mfa.verify({ factorId: enrolled.data!.id, challengeId: challenge.data!.id, code: authenticator.generate(enrolled.data!.totp.secret) })).error).toBeNull();

    // A password alone (aal1) no longer changes what the second factor protects.
    const thief = app.client();
    expect((await thief.auth.signInWithPassword({ email: address, password: 'correct-horse-1' })).error).toBeNull();
    expect((await thief.auth.updateUser({ password: 'stolen-horse-2' })).error).toMatchObject({ code: 'insufficient_aal', status: 401 });
    expect((await thief.auth.updateUser({ email: email('thief') })).error).toMatchObject({ code: 'insufficient_aal', status: 401 });
    expect((await thief.auth.updateUser({ data: { nickname: 'kim' } })).error).toBeNull();
    // The aal2 session may.
    expect((await client.auth.updateUser({ password: 'new-horse-2' })).error).toBeNull();
  });
});
