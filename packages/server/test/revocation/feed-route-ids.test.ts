import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { startIdentity, type IdentityServer } from '../identity/support.js';

describeEachDatabase('revocation feed: ids beyond the bigint range', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database());
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers 400 validation_failed, never 500, for ?after= and Last-Event-ID', async () => {
    const headers = { authorization: `Bearer ${app.serviceRoleKey}`, 'x-supabase-api-version': '2024-01-01' };
    const json = await fetch(`${app.auth}/revocations?format=json&after=9999999999999999999`, { headers });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ code: 'validation_failed' });
    const stream = await fetch(`${app.auth}/revocations`, { headers: { ...headers, 'last-event-id': '9223372036854775808' } });
    expect(stream.status).toBe(400);
    await stream.arrayBuffer();
    // The largest id is still an id.
    expect((await fetch(`${app.auth}/revocations?format=json&after=9223372036854775807`, { headers })).status).toBe(200);
  });
});
