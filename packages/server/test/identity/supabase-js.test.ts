import { AuthApiError, AuthSessionMissingError, AuthWeakPasswordError } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { email, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'correct-horse-1';

describeEachDatabase('identity with @supabase/supabase-js', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  describe('user flows', () => {
    it('signs up, reads the session and the user, updates, refreshes and sets a session', async () => {
      const supabase = app.client();
      const address = email();
      const signUp = await supabase.auth.signUp({ email: address, password: PASSWORD, options: { data: { plan: 'free' } } });
      expect(signUp.error).toBeNull();
      expect(signUp.data.session?.access_token).toEqual(expect.any(String));
      expect(signUp.data.user).toMatchObject({ email: address, app_metadata: { provider: 'email', providers: ['email'] }, user_metadata: { plan: 'free' }, is_anonymous: false });
      expect(signUp.data.user?.identities?.[0]).toMatchObject({ provider: 'email', user_id: signUp.data.user?.id, identity_data: { email: address } });

      const { data: sessionData } = await supabase.auth.getSession();
      expect(sessionData.session?.user.email).toBe(address);

      const user = await supabase.auth.getUser();
      expect(user.error).toBeNull();
      expect(user.data.user?.id).toBe(signUp.data.user?.id);

      const updated = await supabase.auth.updateUser({ data: { plan: 'pro', nickname: 'kim' }, password: 'another-password-2' });
      expect(updated.error).toBeNull();
      expect(updated.data.user?.user_metadata).toMatchObject({ plan: 'pro', nickname: 'kim' });

      const second = app.client();
      const signIn = await second.auth.signInWithPassword({ email: address, password: 'another-password-2' });
      expect(signIn.error).toBeNull();
      const oldRefresh = signIn.data.session!.refresh_token;

      const refreshed = await second.auth.refreshSession();
      expect(refreshed.error).toBeNull();
      expect(refreshed.data.session?.refresh_token).not.toBe(oldRefresh);
      // The server answers 3600; supabase-js counts it again from `expires_at` against its own clock, so a
      // second may pass on a loaded machine.
      expect(refreshed.data.session?.expires_in).toBeGreaterThanOrEqual(3595);
      expect(refreshed.data.session?.expires_in).toBeLessThanOrEqual(3600);

      const third = app.client();
      const set = await third.auth.setSession({ access_token: refreshed.data.session!.access_token, refresh_token: refreshed.data.session!.refresh_token });
      expect(set.error).toBeNull();
      expect(set.data.user?.email).toBe(address);
      const viaThird = await third.auth.getUser();
      expect(viaThird.data.user?.user_metadata.nickname).toBe('kim');

      const newEmail = email('renamed');
      const renamed = await third.auth.updateUser({ email: newEmail });
      expect(renamed.error).toBeNull();
      // The change waits for both addresses to confirm (email-change.test.ts).
      expect(renamed.data.user?.email).toBe(address);
      expect(renamed.data.user?.new_email).toBe(newEmail);
    });

    it('returns typed errors with the right code and status', async () => {
      const supabase = app.client();
      const address = email();
      await supabase.auth.signUp({ email: address, password: PASSWORD });

      const wrong = await app.client().auth.signInWithPassword({ email: address, password: 'not-the-password' });
      expect(wrong.error).toBeInstanceOf(AuthApiError);
      expect(wrong.error).toMatchObject({ code: 'invalid_credentials', status: 400, message: 'Invalid login credentials' });

      const unknownUser = await app.client().auth.signInWithPassword({ email: email('nobody'), password: PASSWORD });
      expect(unknownUser.error).toMatchObject({ code: 'invalid_credentials', status: 400 });

      const duplicate = await app.client().auth.signUp({ email: address, password: PASSWORD });
      expect(duplicate.error).toBeInstanceOf(AuthApiError);
      expect(duplicate.error).toMatchObject({ code: 'user_already_exists', status: 422, message: 'User already registered' });

      const weak = await app.client().auth.signUp({ email: email(), password: '123' });
      expect(weak.error).toBeInstanceOf(AuthWeakPasswordError);
      expect(weak.error).toMatchObject({ code: 'weak_password', status: 422, reasons: ['length'] });

      const unknownToken = await app.client().auth.refreshSession({ refresh_token: 'no-such-token' });
      expect(unknownToken.error).toMatchObject({ code: 'refresh_token_not_found', status: 400, message: 'Invalid Refresh Token: Refresh Token Not Found' });
    });

    it('detects a reused refresh token outside the reuse interval', async () => {
      const supabase = app.client();
      const { data } = await supabase.auth.signUp({ email: email(), password: PASSWORD });
      const first = data.session!.refresh_token;
      const second = await app.client().auth.refreshSession({ refresh_token: first });
      const third = await app.client().auth.refreshSession({ refresh_token: second.data.session!.refresh_token });
      expect(third.error).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 1300));
      const reused = await app.client().auth.refreshSession({ refresh_token: first });
      expect(reused.error).toBeInstanceOf(AuthApiError);
      expect(reused.error).toMatchObject({ code: 'refresh_token_already_used', status: 400, message: 'Invalid Refresh Token: Already Used' });
      const active = await app.client().auth.refreshSession({ refresh_token: third.data.session!.refresh_token });
      expect(active.error).toMatchObject({ code: 'refresh_token_already_used', status: 400 });
    });

    it('signs out with each scope', async () => {
      const address = email();
      await app.client().auth.signUp({ email: address, password: PASSWORD });
      const devices = await Promise.all(
        [0, 1, 2].map(async () => {
          const client = app.client();
          const { error } = await client.auth.signInWithPassword({ email: address, password: PASSWORD });
          expect(error).toBeNull();
          return client;
        }),
      );
      const [a, b, c] = devices as [typeof devices[0], typeof devices[0], typeof devices[0]];
      const tokenOf = async (client: typeof a) => (await client.auth.getSession()).data.session!.access_token;
      const bToken = await tokenOf(b);
      const cToken = await tokenOf(c);

      expect((await a.auth.signOut({ scope: 'others' })).error).toBeNull();
      expect((await a.auth.getUser()).error).toBeNull();
      const bUser = await b.auth.getUser(bToken);
      expect(bUser.error).toBeInstanceOf(AuthSessionMissingError);
      expect((await c.auth.getUser(cToken)).error).toBeInstanceOf(AuthSessionMissingError);

      const aToken = await tokenOf(a);
      expect((await a.auth.signOut({ scope: 'local' })).error).toBeNull();
      expect((await app.client().auth.getUser(aToken)).error).toBeInstanceOf(AuthSessionMissingError);

      const d = app.client();
      const e = app.client();
      await d.auth.signInWithPassword({ email: address, password: PASSWORD });
      await e.auth.signInWithPassword({ email: address, password: PASSWORD });
      const eToken = await tokenOf(e);
      const eRefresh = (await e.auth.getSession()).data.session!.refresh_token;
      expect((await d.auth.signOut()).error).toBeNull();
      expect((await d.auth.getSession()).data.session).toBeNull();
      expect((await app.client().auth.getUser(eToken)).error).toBeInstanceOf(AuthSessionMissingError);
      const refreshAfter = await app.client().auth.refreshSession({ refresh_token: eRefresh });
      expect(refreshAfter.error).toMatchObject({ code: 'refresh_token_not_found', status: 400 });
    });
  });

  describe('admin API', () => {
    it('creates, lists in pages, reads, updates and deletes users', async () => {
      const admin = app.admin().auth.admin;
      const created = [];
      for (let i = 0; i < 3; i += 1) {
        const { data, error } = await admin.createUser({ email: email('admin'), password: PASSWORD, email_confirm: true, user_metadata: { n: i }, app_metadata: { tier: 'gold' } });
        expect(error).toBeNull();
        expect(data.user).toMatchObject({ app_metadata: { provider: 'email', providers: ['email'], tier: 'gold' }, user_metadata: { n: i } });
        expect(data.user?.email_confirmed_at).toEqual(expect.any(String));
        created.push(data.user!);
      }
      const signIn = await app.client().auth.signInWithPassword({ email: created[0]!.email!, password: PASSWORD });
      expect(signIn.error).toBeNull();

      const first = await admin.listUsers({ page: 1, perPage: 2 });
      expect(first.error).toBeNull();
      expect(first.data.users).toHaveLength(2);
      expect(first.data).toMatchObject({ nextPage: 2, total: expect.any(Number) });
      expect((first.data as { total: number }).total).toBeGreaterThanOrEqual(3);
      const second = await admin.listUsers({ page: 2, perPage: 2 });
      expect(second.error).toBeNull();
      expect(second.data.users.length).toBeGreaterThanOrEqual(1);
      const firstIds = new Set(first.data.users.map((user) => user.id));
      expect(second.data.users.some((user) => firstIds.has(user.id))).toBe(false);
      // newest first: the last created user leads page 1
      expect(first.data.users[0]!.id).toBe(created[2]!.id);

      const byId = await admin.getUserById(created[1]!.id);
      expect(byId.error).toBeNull();
      expect(byId.data.user?.email).toBe(created[1]!.email);

      const updated = await admin.updateUserById(created[1]!.id, { user_metadata: { n: 42 }, app_metadata: { tier: 'silver' }, password: 'brand-new-pass' });
      expect(updated.error).toBeNull();
      expect(updated.data.user).toMatchObject({ user_metadata: { n: 42 }, app_metadata: { tier: 'silver' } });
      expect((await app.client().auth.signInWithPassword({ email: created[1]!.email!, password: 'brand-new-pass' })).error).toBeNull();

      const deleted = await admin.deleteUser(created[2]!.id);
      expect(deleted.error).toBeNull();
      const gone = await admin.getUserById(created[2]!.id);
      expect(gone.error).toMatchObject({ status: 404, code: 'user_not_found' });

      const duplicate = await admin.createUser({ email: created[0]!.email!, password: PASSWORD });
      expect(duplicate.error).toMatchObject({ status: 422, code: 'email_exists' });
    });

    it('accepts imported bcrypt hashes ($2a$ and $2b$)', async () => {
      const admin = app.admin().auth.admin;
      const bcrypt = (await import('bcrypt')).default;
      const nodeHash = await bcrypt.hash('imported-password', 10);
      // Go's bcrypt writes $2a$; the algorithm is the same, only the prefix differs.
      for (const hash of [nodeHash, nodeHash.replace(/^\$2b\$/, '$2a$')]) {
        const address = email('import');
        const { error } = await admin.createUser({ email: address, password_hash: hash, email_confirm: true } as never);
        expect(error).toBeNull();
        expect((await app.client().auth.signInWithPassword({ email: address, password: 'imported-password' })).error).toBeNull();
        expect((await app.client().auth.signInWithPassword({ email: address, password: 'wrong-password' })).error).toMatchObject({ code: 'invalid_credentials' });
      }
      const bad = await admin.createUser({ email: email('import'), password_hash: '$argon2id$v=19$m=65536,t=3,p=4$abc$def' } as never);
      expect(bad.error).toMatchObject({ status: 400, code: 'validation_failed' });
    });

    it('refuses anon tokens and user tokens on admin routes', async () => {
      const anonAdmin = app.client().auth.admin;
      const { error } = await anonAdmin.listUsers();
      expect(error).toMatchObject({ status: 403, code: 'not_admin' });
    });
  });

  describe('tokens', () => {
    it('carries exactly the documented claims and verifies with getClaims() through the JWKS', async () => {
      const supabase = app.client();
      const { data } = await supabase.auth.signUp({ email: email(), password: PASSWORD });
      const { data: claimsData, error } = await supabase.auth.getClaims();
      expect(error).toBeNull();
      const claims = claimsData!.claims as Record<string, unknown>;
      expect(Object.keys(claims).sort()).toEqual(
        ['aal', 'amr', 'app_metadata', 'aud', 'email', 'exp', 'iat', 'is_anonymous', 'iss', 'phone', 'role', 'session_id', 'sub', 'user_metadata'].sort(),
      );
      expect(claims).toMatchObject({
        iss: `${app.auth}`,
        sub: data.user!.id,
        aud: 'authenticated',
        role: 'authenticated',
        aal: 'aal1',
        phone: '',
        is_anonymous: false,
        app_metadata: { provider: 'email', providers: ['email'] },
        amr: [{ method: 'password', timestamp: expect.any(Number) }],
      });
      expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
      expect(claimsData!.header).toMatchObject({ alg: 'ES256', kid: expect.any(String) });
    });
  });
});
