import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { notesApi } from '@latchkey/example-notes-api';
import { loadServerConfig, startServer, type IdentityExports, type RevocationEvent, type RunningServer } from '../../src/index.js';
import { TEST_ENV, email, supabaseClient } from '../identity/support.js';
import { listen, stored } from './support.js';

const PASSWORD = 'correct horse battery';

/**
 * An admin takes the `service_role` role away from a user (`PUT /admin/users/{id} {role}`). The
 * user's tokens still say `service_role`: the example API must stop honouring them within a second,
 * as it does after a logout, not when they expire an hour later.
 */
describeEachDatabase('a user role change through the admin API', (database) => {
  let server: RunningServer;
  let identity: IdentityExports;
  let received: RevocationEvent[];

  beforeAll(async () => {
    server = await startServer({
      env: TEST_ENV,
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      database: database(),
      extensions: [notesApi()],
    });
    identity = server.services.identity!;
    received = listen(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('ends the service role on the example API within a second, with a role_changed event', async () => {
    const admin = supabaseClient(server.url, identity.apiKeys.serviceRoleKey);
    // Someone else's organization.
    const owner = await supabaseClient(server.url, identity.apiKeys.anonKey).auth.signUp({ email: email('owner'), password: PASSWORD });
    expect(owner.error).toBeNull();
    const created = await fetch(`${server.url}/auth/v1/organizations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.data.session!.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Other Corp' }),
    });
    expect(created.status).toBe(201);
    const organization = ((await created.json()) as { id: string }).id;

    // A user an admin made a service account signs in.
    const address = email('service');
    const user = await admin.auth.admin.createUser({ email: address, password: PASSWORD, email_confirm: true, role: 'service_role' });
    expect(user.error).toBeNull();
    const signedIn = await supabaseClient(server.url, identity.apiKeys.anonKey).auth.signInWithPassword({ email: address, password: PASSWORD });
    expect(signedIn.error).toBeNull();
    const token = signedIn.data.session!.access_token;
    const write = () =>
      fetch(`${server.url}/api/v1/notes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'written as the service role', organization_id: organization }),
      });
    expect((await write()).status).toBe(201);

    expect((await admin.auth.admin.updateUserById(user.data.user!.id, { role: 'authenticated' })).error).toBeNull();
    const changed = Date.now();
    await expect.poll(async () => (await write()).status, { timeout: 1000, interval: 10 }).toBe(401);
    expect(Date.now() - changed).toBeLessThan(1000);
    const events = await stored(server, (event) => event.user_id === user.data.user!.id);
    expect(events.map((event) => [event.kind, event.organization_id, event.session_ids])).toEqual([['role_changed', null, null]]);
    expect(received.filter((event) => event.user_id === user.data.user!.id)).toEqual(events);

    // Setting the same role again ends nothing.
    expect((await admin.auth.admin.updateUserById(user.data.user!.id, { role: 'authenticated' })).error).toBeNull();
    expect(await stored(server, (event) => event.user_id === user.data.user!.id)).toHaveLength(1);
  });
});
