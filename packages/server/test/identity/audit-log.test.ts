import { afterAll, beforeAll, expect, it } from 'vitest';
import { IdentityError, loadAuditSettings, pruneAuditLog, type AuditEntryJson } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { email, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'audit-pass-1';
const NIL = '00000000-0000-0000-0000-000000000000';

describeEachDatabase('audit log', (database) => {
  let app: IdentityServer;
  /** Addresses whose sign-in the claims hook refuses. */
  const refused = new Set<string>();
  beforeAll(async () => {
    app = await startIdentity(database());
    app.identity.addClaimsHook((input) => {
      if (refused.has(input.claims.email)) throw new IdentityError(403, 'user_banned', 'refused by a claims hook');
      return { claims: input.claims };
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  async function read(query: string, key = app.serviceRoleKey): Promise<{ status: number; headers: Headers; body: unknown }> {
    const response = await fetch(`${app.auth}/admin/audit${query}`, { headers: { authorization: `Bearer ${key}`, apikey: key } });
    return { status: response.status, headers: response.headers, body: await response.json() };
  }

  async function entriesOf(userId: string): Promise<AuditEntryJson[]> {
    const { status, body } = await read(`?user_id=${userId}&per_page=1000`);
    expect(status).toBe(200);
    return body as AuditEntryJson[];
  }

  it('records sign-up, login, refresh and logout with GoTrue payloads, newest first', async () => {
    const address = email('audit');
    const client = app.client();
    const signUp = await client.auth.signUp({ email: address, password: PASSWORD, options: { data: { full_name: 'Ada Audit' } } });
    expect(signUp.error).toBeNull();
    const userId = signUp.data.user!.id;
    const login = await app.client().auth.signInWithPassword({ email: address, password: PASSWORD });
    expect(login.error).toBeNull();
    expect((await client.auth.refreshSession()).error).toBeNull();
    expect((await client.auth.signOut({ scope: 'local' })).error).toBeNull();

    const entries = await entriesOf(userId);
    expect(entries.map((entry) => entry.payload.action)).toEqual(['logout', 'token_refreshed', 'token_revoked', 'login', 'login', 'user_signedup']);
    const [logout, refreshed, revoked, , , signedUp] = entries;
    expect(signedUp!.payload).toEqual({
      actor_id: userId,
      actor_via_sso: false,
      actor_username: address,
      actor_name: 'Ada Audit',
      action: 'user_signedup',
      log_type: 'team',
      traits: { provider: 'email' },
    });
    expect(entries[3]!.payload).toMatchObject({ action: 'login', log_type: 'account', traits: { provider: 'email' } });
    expect(refreshed!.payload.log_type).toBe('token');
    expect(revoked!.payload.log_type).toBe('token');
    expect(logout!.payload).toMatchObject({ action: 'logout', log_type: 'account', actor_id: userId });
    expect(logout!.payload.traits).toBeUndefined();
    for (const entry of entries) {
      expect(entry.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(entry.created_at))).toBe(false);
      expect(entry.ip_address).toBe('127.0.0.1');
    }
    // Refresh tokens and passwords never reach the log.
    const text = JSON.stringify(entries);
    expect(text).not.toContain(login.data.session!.refresh_token);
    expect(text).not.toContain(PASSWORD);
  });

  it('records admin actions with the service role as actor and the user in traits', async () => {
    const admin = app.admin().auth.admin;
    const address = email('audit-admin');
    const created = await admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
    expect(created.error).toBeNull();
    const userId = created.data.user!.id;
    expect((await admin.updateUserById(userId, { user_metadata: { plan: 'pro' } })).error).toBeNull();
    expect((await admin.deleteUser(userId)).error).toBeNull();

    const entries = await entriesOf(userId);
    expect(entries.map((entry) => entry.payload.action)).toEqual(['user_deleted', 'user_modified', 'user_signedup']);
    for (const entry of entries) {
      expect(entry.payload.actor_id).toBe(NIL);
      expect(entry.payload.actor_username).toBe('service_role');
      expect(entry.payload.traits).toMatchObject({ user_id: userId, user_email: address, user_phone: '' });
    }
    expect(entries[2]!.payload.traits).toMatchObject({ provider: 'email' });
  });

  it('writes an entry in the transaction of its action: a refused sign-in leaves none', async () => {
    const address = email('audit-refused');
    const created = await app.admin().auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true });
    const userId = created.data.user!.id;
    refused.add(address);
    const login = await app.client().auth.signInWithPassword({ email: address, password: PASSWORD });
    expect(login.error?.code).toBe('user_banned');
    refused.delete(address);
    const wrong = await app.client().auth.signInWithPassword({ email: address, password: 'not-the-password' });
    expect(wrong.error?.code).toBe('invalid_credentials');
    expect((await entriesOf(userId)).map((entry) => entry.payload.action)).toEqual(['user_signedup']);

    expect((await app.client().auth.signInWithPassword({ email: address, password: PASSWORD })).error).toBeNull();
    expect((await entriesOf(userId)).map((entry) => entry.payload.action)).toEqual(['login', 'user_signedup']);
  });

  it('records factor enrolment, challenges, verification attempts and unenrolment', async () => {
    const address = email('audit-mfa');
    const client = app.client();
    const { data } = await client.auth.signUp({ email: address, password: PASSWORD });
    const userId = data.user!.id;
    const enrolled = await client.auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone app' });
    expect(enrolled.error).toBeNull();
    const factorId = enrolled.data!.id;
    const challenge = await client.auth.mfa.challenge({ factorId });
    expect(challenge.error).toBeNull();
    const failed = await client.auth.mfa.verify({ factorId, challengeId: challenge.data!.id, code: '000000' });
    expect(failed.error?.code).toBe('mfa_verification_failed');
    expect((await client.auth.mfa.unenroll({ factorId })).error).toBeNull();

    const entries = await entriesOf(userId);
    expect(entries.slice(0, 4).map((entry) => [entry.payload.action, entry.payload.log_type])).toEqual([
      ['factor_unenrolled', 'factor'],
      ['verification_attempted', 'factor'],
      ['challenge_created', 'factor'],
      ['factor_in_progress', 'factor'],
    ]);
    expect(entries[1]!.payload.traits).toMatchObject({ factor_id: factorId, challenge_id: challenge.data!.id, success: false });
    expect(entries[3]!.payload.traits).toEqual({ factor_id: factorId, factor_type: 'totp' });
  });

  it('filters by action, GoTrue query scope and time, and pages with X-Total-Count and Link', async () => {
    const address = email('audit-filter');
    const client = app.client();
    const { data } = await client.auth.signUp({ email: address, password: PASSWORD });
    const userId = data.user!.id;
    const before = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let round = 0; round < 3; round += 1) expect((await client.auth.refreshSession()).error).toBeNull();

    const refreshed = await read(`?user_id=${userId}&action=token_refreshed&per_page=2`);
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers.get('x-total-count')).toBe('3');
    expect((refreshed.body as AuditEntryJson[]).length).toBe(2);
    const link = refreshed.headers.get('link')!;
    expect(link).toContain('rel="next"');
    expect(link).toContain(`user_id=${userId}`);
    expect(link).toContain('page=2');

    const second = await read(`?user_id=${userId}&action=token_refreshed&per_page=2&page=2`);
    expect((second.body as AuditEntryJson[]).length).toBe(1);

    const tokens = await read(`?user_id=${userId}&query=type:token`);
    expect((tokens.body as AuditEntryJson[]).every((entry) => entry.payload.log_type === 'token')).toBe(true);
    expect(tokens.headers.get('x-total-count')).toBe('6');

    const byAuthor = await read(`?query=author:${encodeURIComponent(address)}&action=user_signedup`);
    expect((byAuthor.body as AuditEntryJson[]).map((entry) => entry.payload.actor_id)).toEqual([userId]);

    const since = await read(`?user_id=${userId}&since=${encodeURIComponent(before)}`);
    expect(since.headers.get('x-total-count')).toBe('6');
    const until = await read(`?user_id=${userId}&until=${encodeURIComponent(before)}`);
    expect((until.body as AuditEntryJson[]).map((entry) => entry.payload.action)).toEqual(['login', 'user_signedup']);
  });

  it('refuses malformed filters with 400 and everyone but admins with 403', async () => {
    for (const query of ['?query=nothing', '?query=color:red', '?action=not_an_action', '?user_id=nope', '?since=yesterday', '?page=0', '?query=type:weird']) {
      const answer = await read(query);
      expect(answer.status, query).toBe(400);
      expect((answer.body as { error_code: string }).error_code).toBe('validation_failed');
    }
    expect((await read('?query=nothing')).body).toMatchObject({ msg: 'Invalid query scope: nothing' });
    expect((await read('', app.anonKey)).status).toBe(403);
    const { data } = await app.client().auth.signUp({ email: email('audit-user'), password: PASSWORD });
    expect((await read('', data.session!.access_token)).status).toBe(403);
  });

  it('prunes entries older than the retention; the retention setting is validated', async () => {
    const { data } = await app.client().auth.signUp({ email: email('audit-prune'), password: PASSWORD });
    const userId = data.user!.id;
    expect((await entriesOf(userId)).length).toBe(2);
    await app.server.db.query(
      `update auth.audit_log_entries set created_at = now() - interval '100 days' where payload ->> 'actor_id' = $1 and payload ->> 'action' = 'user_signedup'`,
      [userId],
    );
    const { retentionSeconds } = loadAuditSettings({});
    expect(retentionSeconds).toBe(90 * 86_400);
    const deleted = await pruneAuditLog(app.server.db, new Date(Date.now() - retentionSeconds * 1000));
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect((await entriesOf(userId)).map((entry) => entry.payload.action)).toEqual(['login']);

    expect(loadAuditSettings({ LATCHKEY_AUDIT_RETENTION: '30d' }).retentionSeconds).toBe(30 * 86_400);
    expect(loadAuditSettings({ LATCHKEY_AUDIT_RETENTION: '0' }).retentionSeconds).toBe(0);
    expect(() => loadAuditSettings({ LATCHKEY_AUDIT_RETENTION: 'forever' })).toThrow(/LATCHKEY_AUDIT_RETENTION/);
    expect(loadAuditSettings({ GOTRUE_AUDIT_LOG_DISABLE_POSTGRES: 'true' }).enabled).toBe(false);
  });
});
