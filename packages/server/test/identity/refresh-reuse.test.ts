import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { loadIdentitySettings } from '../../src/identity/settings.js';
import { claimsOf, email, post, refreshWith, startIdentity, type IdentityServer } from './support.js';

describeEachDatabase('the parent of the active refresh token', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    // A 1 s reuse interval stands for the default 10 s: the replay below comes 1.3 intervals late.
    app = await startIdentity(database(), { LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '1' });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('returns the active token inside the reuse interval only; a later replay is reuse and ends the session', async () => {
    const signedUp = await post(`${app.auth}/signup`, { email: email('parent'), password: 'correct-horse-1' });
    const parent = signedUp.body.refresh_token as string;
    const rotated = await refreshWith(app, parent);
    expect(rotated.status).toBe(200);
    const active = rotated.body.refresh_token as string;

    // A client that lost the answer, retrying at once, gets the active token back.
    const retried = await refreshWith(app, parent);
    expect(retried.status).toBe(200);
    expect(retried.body.refresh_token).toBe(active);

    // The same replay after the interval is a second party holding the session.
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const replayed = await refreshWith(app, parent);
    expect(replayed.status).toBe(400);
    expect(replayed.body.code).toBe('refresh_token_already_used');
    const owner = await refreshWith(app, active);
    expect(owner.status).toBe(400);
    expect(owner.body.code).toBe('refresh_token_already_used');
    const sessionId = claimsOf(rotated.body.access_token as string).session_id as string;
    const { rows } = await database().query<{ n: number }>('select count(*)::int as n from auth.refresh_tokens where session_id = $1 and not revoked', [sessionId]);
    expect(rows[0]!.n).toBe(0);
  });

  it('uses a 10 s reuse interval unless told otherwise', () => {
    expect(loadIdentitySettings({}).refreshTokenReuseInterval).toBe(10);
    expect(loadIdentitySettings({ GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL: '3' }).refreshTokenReuseInterval).toBe(3);
  });
});
