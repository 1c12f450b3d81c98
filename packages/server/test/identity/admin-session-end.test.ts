import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import type { RevocationEvent } from '@latchkey/server';
import { email, refreshWith, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'correct-horse-1';

/**
 * Access through the admin API, and the admin API ending access.
 *
 * A user given an admin role (`supabase_admin`) signs in and uses the admin API with their access
 * token. Once their session ends (logout, ban, deletion) or the role is taken away, that token must
 * stop opening the admin API at once, not when it expires.
 */
describeEachDatabase('admin API and session end', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  /** A signed-in user whose role is an admin role: their id and access token. */
  async function adminUser(): Promise<{ id: string; token: string }> {
    const address = email('admin');
    const created = await app.admin().auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true, role: 'supabase_admin' });
    expect(created.error).toBeNull();
    const client = app.client();
    const signedIn = await client.auth.signInWithPassword({ email: address, password: PASSWORD });
    expect(signedIn.error).toBeNull();
    const token = signedIn.data.session!.access_token;
    expect(await adminStatus(token)).toBe(200);
    return { id: created.data.user!.id, token };
  }

  async function adminStatus(token: string): Promise<number> {
    const response = await fetch(`${app.auth}/admin/users?page=1&per_page=1`, { headers: { authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    return response.status;
  }

  it('logout closes the admin API to the token', async () => {
    const { token } = await adminUser();
    const logout = await fetch(`${app.auth}/logout?scope=global`, { method: 'POST', headers: { apikey: app.anonKey, authorization: `Bearer ${token}` } });
    expect(logout.status).toBe(204);
    expect(await adminStatus(token)).toBe(403);
  });

  it('a ban closes the admin API to the token', async () => {
    const { id, token } = await adminUser();
    expect((await app.admin().auth.admin.updateUserById(id, { ban_duration: '24h' })).error).toBeNull();
    expect(await adminStatus(token)).toBe(403);
  });

  it('deleting the user closes the admin API to the token', async () => {
    const { id, token } = await adminUser();
    expect((await app.admin().auth.admin.deleteUser(id)).error).toBeNull();
    expect(await adminStatus(token)).toBe(403);
  });

  it('taking the admin role away closes the admin API to the token', async () => {
    const { id, token } = await adminUser();
    expect((await app.admin().auth.admin.updateUserById(id, { role: 'authenticated' })).error).toBeNull();
    expect(await adminStatus(token)).toBe(403);
  });

  it('an admin setting a user’s password ends every session of that user, with one event', async () => {
    const address = email('reset');
    expect((await app.client().auth.signUp({ email: address, password: PASSWORD })).error).toBeNull();
    const client = app.client();
    const signedIn = await client.auth.signInWithPassword({ email: address, password: PASSWORD });
    expect(signedIn.error).toBeNull();
    const { access_token: token, refresh_token: refreshToken, user } = signedIn.data.session!;
    const received: RevocationEvent[] = [];
    const stop = app.server.revocations.subscribe((event) => received.push(event));
    try {
      expect((await app.admin().auth.admin.updateUserById(user.id, { password: 'another-horse-2' })).error).toBeNull();
      // The holder of the old session (an intruder the reset is meant to lock out) keeps nothing.
      const refreshed = await refreshWith(app, refreshToken);
      expect(refreshed.status).toBe(400);
      const me = await fetch(`${app.auth}/user`, { headers: { apikey: app.anonKey, authorization: `Bearer ${token}` } });
      expect(me.status).toBe(403);
      await expect.poll(() => received.filter((event) => event.user_id === user.id).map((event) => event.kind)).toEqual(['password_changed']);
      // The new password signs in.
      expect((await app.client().auth.signInWithPassword({ email: address, password: 'another-horse-2' })).error).toBeNull();
    } finally {
      stop();
    }
  });

  it('the service_role key keeps working', async () => {
    expect(await adminStatus(app.serviceRoleKey)).toBe(200);
  });
});
