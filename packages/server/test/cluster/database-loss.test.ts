import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { deploymentEnv, startNode, startRelay, type Node, type Relay } from './support.js';

describeWith(['DATABASE_URL', 'REDIS_URL'], 'a node that loses its PostgreSQL connection', () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let relay: Relay;
  let node: Node;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    relay = await startRelay(Number(new URL(database.url).port || 5432));
    const through = new URL(database.url);
    through.hostname = '127.0.0.1';
    through.port = String(relay.port);
    node = await startNode(through.toString(), deploymentEnv());
  });
  afterAll(async () => {
    await node?.close();
    await relay?.cut();
    await database?.drop();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${node.url}${path}`, { method: 'POST', headers: { apikey: node.anonKey, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const signUp = () => post('/auth/v1/signup', { email: `lost-${randomUUID()}@example.com`, password: 'correct-horse-battery-1' });

  it('answers 503 with Retry-After (never 500, never a hang) while the database is away, and serves again once it is back', async () => {
    const session = (await (await signUp()).json()) as { refresh_token: string };
    await relay.cut();

    const started = performance.now();
    const signUpWhileAway = await signUp();
    expect(signUpWhileAway.status).toBe(503);
    expect(signUpWhileAway.headers.get('retry-after')).toBe('1');
    expect(await signUpWhileAway.json()).toMatchObject({ code: 503, error_code: 'database_unavailable' });
    const refreshWhileAway = await post('/auth/v1/token?grant_type=refresh_token', { refresh_token: session.refresh_token });
    expect(refreshWhileAway.status).toBe(503);
    expect(refreshWhileAway.headers.get('retry-after')).toBe('1');
    const oauthWhileAway = await fetch(`${node.url}/auth/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: session.refresh_token }),
    });
    expect(oauthWhileAway.status).toBe(503);
    expect(await oauthWhileAway.json()).toMatchObject({ error: 'temporarily_unavailable' });
    const health = await fetch(`${node.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'unavailable', database: { status: 'down' }, broker: { status: 'up' } });
    // Each answer came within the connect timeout (2 s here), not after a hang.
    expect(performance.now() - started).toBeLessThan(15_000);

    await relay.restore();
    await expect.poll(async () => (await signUp()).status, { timeout: 10_000, interval: 100 }).toBe(200);
    const refreshed = await post('/auth/v1/token?grant_type=refresh_token', { refresh_token: session.refresh_token });
    expect(refreshed.status).toBe(200);
    expect((await fetch(`${node.url}/health`)).status).toBe(200);
  });
});
