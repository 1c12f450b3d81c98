import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { startIdentity } from './support.js';

/**
 * The generated service_role key leaked; the operator replaces it with `LATCHKEY_SERVICE_ROLE_KEY`.
 * The old key is still a validly signed `service_role` JWT: the admin API must refuse it, as the
 * revocation feed and the example API already do.
 */
describeEachDatabase('a replaced service_role key', (database) => {
  it('no longer opens the admin API', async () => {
    const first = await startIdentity(database());
    const leaked = first.serviceRoleKey;
    await first.close();

    const replacement = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"role":"service_role"}').toString('base64url')}.${'r'.repeat(43)}`;
    const app = await startIdentity(database(), { LATCHKEY_SERVICE_ROLE_KEY: replacement });
    try {
      expect(app.serviceRoleKey).toBe(replacement);
      const admin = (key: string) => fetch(`${app.auth}/admin/users`, { headers: { authorization: `Bearer ${key}`, 'x-supabase-api-version': '2024-01-01' } });
      expect((await admin(replacement)).status).toBe(200);
      const refused = await admin(leaked);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: 'not_admin' });
      const feed = await fetch(`${app.auth}/revocations?format=json`, { headers: { authorization: `Bearer ${leaked}` } });
      expect(feed.status).toBe(403);
    } finally {
      await app.close();
    }
  });
});
