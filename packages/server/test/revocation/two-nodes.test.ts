import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { notesApi } from '@latchkey/example-notes-api';
import { loadServerConfig, startServer, type RunningServer } from '../../src/index.js';
import { email, post, TEST_ENV } from '../identity/support.js';

const SESSIONS = 20;

describeWith(['DATABASE_URL', 'REDIS_URL'], 'ended sessions across two nodes on PostgreSQL and Redis', () => {
  let target: { url: string; drop: () => Promise<void> };
  const nodes: RunningServer[] = [];

  beforeAll(async () => {
    target = await createPostgresDatabase();
    const env = {
      ...TEST_ENV,
      DATABASE_URL: target.url,
      REDIS_URL: process.env.REDIS_URL!,
      LATCHKEY_REDIS_PREFIX: `test-${randomBytes(6).toString('hex')}`,
      // One issuer for both nodes, whatever port each listens on.
      LATCHKEY_JWT_ISSUER: 'http://latchkey.test/auth/v1',
      PORT: '0',
      LOG_LEVEL: 'silent',
    };
    // One after the other: the first creates the signing key and the API keys, the second reads them.
    for (let i = 0; i < 2; i += 1) nodes.push(await startServer({ env, config: loadServerConfig(env), extensions: [notesApi()] }));
  });
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await target?.drop();
  });

  it(`refuses each of ${SESSIONS} tokens on node B within a second of its logout on node A`, async () => {
    const [a, b] = nodes as [RunningServer, RunningServer];
    const anonKey = a.services.identity!.apiKeys.anonKey;
    const delays: number[] = [];
    for (let i = 0; i < SESSIONS; i += 1) {
      const signUp = await post(`${a.url}/auth/v1/signup`, { email: email('nodes'), password: 'correct horse battery' }, { apikey: anonKey });
      expect(signUp.status).toBe(200);
      const token = signUp.body.access_token as string;
      const notes = () => fetch(`${b.url}/api/v1/notes`, { headers: { authorization: `Bearer ${token}` } }).then((response) => response.status);
      expect(await notes()).toBe(200);
      const started = Date.now();
      const logout = await fetch(`${a.url}/auth/v1/logout?scope=local`, { method: 'POST', headers: { apikey: anonKey, authorization: `Bearer ${token}` } });
      expect(logout.status).toBe(204);
      await expect.poll(notes, { timeout: 1000, interval: 5 }).toBe(401);
      delays.push(Date.now() - started);
    }
    expect(Math.max(...delays)).toBeLessThan(1000);
  });
});
