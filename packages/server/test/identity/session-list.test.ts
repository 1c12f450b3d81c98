import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { email, post, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'correct horse battery';

interface Tokens {
  access_token: string;
  refresh_token: string;
  user: { id: string };
}

describeEachDatabase('session list', (database) => {
  let identity: IdentityServer;
  const alice = email('alice');
  const bob = email('bob');

  beforeAll(async () => {
    identity = await startIdentity(database(), { LATCHKEY_TRUSTED_PROXIES: '127.0.0.1, ::1' });
    for (const address of [alice, bob]) expect((await identity.client().auth.signUp({ email: address, password: PASSWORD })).error).toBeNull();
  });

  afterAll(async () => {
    await identity?.close();
  });

  async function login(address: string, agent: string, from: string): Promise<Tokens> {
    const answer = await post(`${identity.auth}/token?grant_type=password`, { email: address, password: PASSWORD }, { 'user-agent': agent, 'x-forwarded-for': from });
    expect(answer.status).toBe(200);
    return answer.body as unknown as Tokens;
  }

  async function call(method: string, path: string, token: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`${identity.auth}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'x-supabase-api-version': '2024-01-01' } });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  const revokedEvents = async () =>
    (await identity.server.db.query<{ user_id: string; session_ids: string[] }>(`select user_id, session_ids from auth.revocation_events where kind = 'session_revoked' order by id`)).rows;

  it('lists the caller\'s sessions with their facts and marks the current one', async () => {
    const laptop = await login(alice, 'Laptop/1.0', '198.51.100.10');
    const phone = await login(alice, 'Phone/2.0', '203.0.113.20');
    // Refreshing the phone's session sets its last refresh.
    const refreshed = await identity.client().auth.refreshSession({ refresh_token: phone.refresh_token });
    expect(refreshed.error).toBeNull();

    const listed = await call('GET', '/sessions', laptop.access_token);
    expect(listed.status).toBe(200);
    const sessions = listed.body.sessions as Record<string, unknown>[];
    expect(sessions).toHaveLength(3); // the sign-up opened one too
    const byAgent = Object.fromEntries(sessions.map((session) => [session.user_agent, session]));
    expect(byAgent['Laptop/1.0']).toMatchObject({ ip: '198.51.100.10', aal: 'aal1', current: true, refreshed_at: null, user_id: laptop.user.id });
    expect(byAgent['Phone/2.0']).toMatchObject({ ip: '203.0.113.20', current: false, refreshed_at: expect.any(String) });
    expect(Date.parse(byAgent['Phone/2.0']!.created_at as string)).toBeGreaterThan(0);
  });

  it('ends one of them: its refresh token is dead, its access token refused, the event recorded', async () => {
    const mine = await login(alice, 'Desk/1.0', '198.51.100.11');
    const other = await login(alice, 'Tablet/1.0', '198.51.100.12');
    const otherId = (await call('GET', '/sessions', other.access_token)).body.sessions.find((session: { current: boolean }) => session.current).id as string;

    expect((await call('DELETE', `/sessions/${otherId}`, mine.access_token)).status).toBe(204);
    const { error } = await identity.client().auth.refreshSession({ refresh_token: other.refresh_token });
    expect(error?.code).toBe('refresh_token_not_found');
    expect(await call('GET', '/user', other.access_token)).toMatchObject({ status: 403, body: { code: 'session_not_found' } });
    expect((await call('GET', '/sessions', mine.access_token)).body.sessions.map((s: { id: string }) => s.id)).not.toContain(otherId);
    expect(await revokedEvents()).toContainEqual({ user_id: mine.user.id, session_ids: [otherId] });
    // Ending it again: 404.
    expect((await call('DELETE', `/sessions/${otherId}`, mine.access_token)).status).toBe(404);
  });

  it('answers 404 for another user\'s session exactly as for one that does not exist', async () => {
    const attacker = await login(alice, 'Attacker/1.0', '198.51.100.13');
    const victim = await login(bob, 'Victim/1.0', '198.51.100.14');
    const victimId = (await call('GET', '/sessions', victim.access_token)).body.sessions[0].id as string;
    const foreign = await call('DELETE', `/sessions/${victimId}`, attacker.access_token);
    const missing = await call('DELETE', `/sessions/${randomUUID()}`, attacker.access_token);
    const malformed = await call('DELETE', '/sessions/not-a-uuid', attacker.access_token);
    expect(foreign).toEqual({ status: 404, body: { code: 'not_found', message: 'Session not found' } });
    expect(missing).toEqual(foreign);
    expect(malformed).toEqual(foreign);
    // The victim's session lives on.
    expect((await call('GET', '/user', victim.access_token)).status).toBe(200);
    expect((await call('GET', '/sessions', attacker.access_token)).body.sessions.map((s: { id: string }) => s.id)).not.toContain(victimId);
    expect((await call('GET', '/sessions', 'not-a-token')).status).toBe(403);
  });

  it('lets admins list and end any user\'s sessions, one or all', async () => {
    const first = await login(bob, 'One/1.0', '198.51.100.15');
    await login(bob, 'Two/1.0', '198.51.100.16');
    const admin = identity.serviceRoleKey;
    const listed = await call('GET', `/admin/users/${first.user.id}/sessions`, admin);
    expect(listed.status).toBe(200);
    expect(listed.body.sessions.length).toBeGreaterThanOrEqual(2);
    expect(listed.body.sessions.every((session: { current: boolean }) => session.current === false)).toBe(true);

    const one = listed.body.sessions.find((session: { user_agent: string }) => session.user_agent === 'One/1.0').id as string;
    expect((await call('DELETE', `/admin/users/${first.user.id}/sessions/${one}`, admin)).status).toBe(204);
    expect(await call('GET', '/user', first.access_token)).toMatchObject({ status: 403, body: { code: 'session_not_found' } });
    expect((await call('DELETE', `/admin/users/${first.user.id}/sessions/${randomUUID()}`, admin)).status).toBe(404);

    const remaining = (await call('GET', `/admin/users/${first.user.id}/sessions`, admin)).body.sessions.map((s: { id: string }) => s.id) as string[];
    expect((await call('DELETE', `/admin/users/${first.user.id}/sessions`, admin)).status).toBe(204);
    expect((await call('GET', `/admin/users/${first.user.id}/sessions`, admin)).body.sessions).toEqual([]);
    expect(await revokedEvents()).toContainEqual({ user_id: first.user.id, session_ids: expect.arrayContaining(remaining) });

    expect((await call('GET', `/admin/users/${randomUUID()}/sessions`, admin)).status).toBe(404);
    expect((await call('GET', `/admin/users/${first.user.id}/sessions`, first.access_token)).status).toBe(403);
  });
});
