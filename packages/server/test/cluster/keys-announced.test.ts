import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { databaseOperations, loadIdentitySettings, openPostgresDatabase, type Database } from '../../src/index.js';
import { TEST_ENV } from '../identity/support.js';
import { startNode, type Node } from './support.js';

/** Polling of the keys is an hour apart here: only the database's announcement can make a node notice. */
const ENV = { LATCHKEY_JWT_KEYS_RELOAD_INTERVAL: '3600' };

const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;

describeWith(['DATABASE_URL'], 'signing keys changed in the database directly, not through a node', () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let a: Node;
  let b: Node;
  let direct: Database;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    // No Redis: the nodes hear of each other's rotations through the database alone.
    a = await startNode(database.url, ENV);
    b = await startNode(database.url, ENV);
    direct = await openPostgresDatabase({ url: database.url });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await direct?.close();
    await database?.drop();
  });

  const kids = async (node: Node) => ((await (await fetch(`${node.url}/auth/v1/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
  const signUp = async (node: Node) => {
    const response = await fetch(`${node.url}/auth/v1/signup`, {
      method: 'POST',
      headers: { apikey: node.anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({ email: `keys-${randomUUID()}@example.com`, password: 'correct-horse-battery-1' }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  };

  it('a rotation made on the database (as `latchkey keys rotate` without a running node does) is published and signed with by every node within a second', async () => {
    const before = kidOf(await signUp(a));
    const rotated = await databaseOperations(direct, loadIdentitySettings({ ...TEST_ENV, ...ENV })).rotateKeys();
    expect(rotated.kid).not.toBe(before);
    await Promise.all([a, b].map((node) => expect.poll(() => kids(node), { timeout: 1000, interval: 20 }).toContain(rotated.kid)));
    for (const node of [a, b]) expect(kidOf(await signUp(node))).toBe(rotated.kid);
  });

  it('a node whose listening connection was cut listens again, and hears the next rotation', async () => {
    const { rows } = await direct.query<{ cut: boolean }>(
      `select pg_terminate_backend(pid) as cut from pg_stat_activity where datname = current_database() and query ilike 'listen %'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(2);
    // Both listen again (within a few hundred milliseconds) before the rotation below.
    await expect
      .poll(async () => (await direct.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = current_database() and query ilike 'listen %'`)).rows[0]!.n, {
        timeout: 5000,
        interval: 50,
      })
      .toBeGreaterThanOrEqual(2);
    const rotated = await databaseOperations(direct, loadIdentitySettings({ ...TEST_ENV, ...ENV })).rotateKeys();
    await Promise.all([a, b].map((node) => expect.poll(() => kids(node), { timeout: 1000, interval: 20 }).toContain(rotated.kid)));
  });

  it('a key retired by SQL run by hand stops signing on every node at once', async () => {
    const current = kidOf(await signUp(b));
    const rotated = await databaseOperations(direct, loadIdentitySettings({ ...TEST_ENV, ...ENV })).rotateKeys();
    for (const node of [a, b]) await expect.poll(async () => kidOf(await signUp(node)), { timeout: 1000, interval: 20 }).toBe(rotated.kid);
    // Back to the previous key by hand: the rotated one retired, the previous one signing again.
    await direct.transaction(async (tx) => {
      await tx.query('update auth.signing_keys set retired_at = now(), verify_until = now() + interval \'1 hour\' where kid = $1', [rotated.kid]);
      await tx.query('update auth.signing_keys set retired_at = null, verify_until = null where kid = $1', [current]);
    });
    for (const node of [a, b]) await expect.poll(async () => kidOf(await signUp(node)), { timeout: 1000, interval: 20 }).toBe(current);
  });
});
