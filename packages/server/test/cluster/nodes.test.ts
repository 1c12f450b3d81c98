import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@latchkey/server';
import { createPostgresDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { deploymentEnv, startNode, type Node } from './support.js';

interface Tokens {
  readonly access_token: string;
  readonly refresh_token: string;
}

async function signUp(node: Node): Promise<Tokens> {
  const response = await fetch(`${node.url}/auth/v1/signup`, {
    method: 'POST',
    headers: { apikey: node.anonKey, 'content-type': 'application/json' },
    body: JSON.stringify({ email: `node-${randomUUID()}@example.com`, password: 'correct-horse-battery-1' }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Tokens;
}

async function userStatus(node: Node, token: string): Promise<number> {
  const response = await fetch(`${node.url}/auth/v1/user`, { headers: { apikey: node.anonKey, authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

function header(token: string): { kid?: string } {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid?: string };
}

function claims(token: string): { iss?: string } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { iss?: string };
}

describeWith(['DATABASE_URL', 'REDIS_URL'], 'nodes sharing one PostgreSQL and Redis', () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  const nodes: Node[] = [];
  const start = async (env: Record<string, string>) => {
    const node = await startNode(database.url, env);
    nodes.push(node);
    return node;
  };

  beforeAll(async () => {
    database = await createPostgresDatabase();
  });
  afterEach(async () => {
    for (const node of nodes.splice(0).reverse()) await node.close();
  });
  afterAll(async () => {
    await database?.drop();
  });

  describe('without LATCHKEY_PUBLIC_URL', () => {
    it('issue one `iss`, whatever port each listens on: a token from either node works on the other', async () => {
      const env = deploymentEnv();
      const a = await start(env);
      const b = await start(env);
      expect(new URL(a.url).port).not.toBe(new URL(b.url).port);
      const fromA = await signUp(a);
      const fromB = await signUp(b);
      expect(claims(fromA.access_token).iss).toBe(`${a.url}/auth/v1`);
      expect(claims(fromB.access_token).iss).toBe(`${a.url}/auth/v1`);
      expect(b.identity.issuer()).toBe(a.identity.issuer());
      expect(await userStatus(b, fromA.access_token)).toBe(200);
      expect(await userStatus(a, fromB.access_token)).toBe(200);
    });
  });

  describe('a node whose shared settings differ from a running node', () => {
    it('refuses to start, naming the audience', async () => {
      const env = deploymentEnv();
      await start(env);
      const refused = await startNode(database.url, { ...env, LATCHKEY_JWT_AUD: 'other-audience' }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as ConfigError).variable).toBe('LATCHKEY_JWT_AUD');
      expect((refused as ConfigError).message).toMatch(/^LATCHKEY_JWT_AUD: differs from the running node at http:\/\/127\.0\.0\.1:\d+ \(this node has "other-audience"\)/);
      expect((refused as ConfigError).message).not.toContain('\n');
    });

    it('refuses to start, naming a secret without printing it (gateway API key, issuer)', async () => {
      const env = deploymentEnv();
      await start({ ...env, LATCHKEY_GATEWAY_API_KEY: 'first-gateway-key-0123456789' });
      const secret = await startNode(database.url, { ...env, LATCHKEY_GATEWAY_API_KEY: 'second-gateway-key-0123456789' }).catch((error: unknown) => error);
      expect((secret as ConfigError).variable).toBe('LATCHKEY_GATEWAY_API_KEY');
      expect((secret as ConfigError).message).toContain('this node has a different value');
      expect((secret as ConfigError).message).not.toContain('second-gateway-key');
      const issuer = await startNode(database.url, { ...env, LATCHKEY_GATEWAY_API_KEY: 'first-gateway-key-0123456789', LATCHKEY_PUBLIC_URL: 'https://elsewhere.example' }).catch(
        (error: unknown) => error,
      );
      expect((issuer as ConfigError).variable).toBe('LATCHKEY_PUBLIC_URL');
    });

    it('starts once the disagreeing node has stopped (the running nodes decide, not the stored past)', async () => {
      const env = deploymentEnv();
      const first = await start(env);
      await first.close();
      nodes.splice(nodes.indexOf(first), 1);
      const second = await start({ ...env, LATCHKEY_JWT_AUD: 'other-audience' });
      expect((await signUp(second)).access_token).toBeTruthy();
    });
  });

  describe('key rotation', () => {
    it('reaches every node through the broker at once (reload interval an hour): the other node signs with the new key and accepts its tokens', async () => {
      const env = { ...deploymentEnv(), LATCHKEY_JWT_KEYS_RELOAD_INTERVAL: '3600' };
      const a = await start(env);
      const b = await start(env);
      const before = header((await signUp(b)).access_token).kid;
      const rotated = await a.identity.rotateSigningKey();
      expect(rotated.retiredKid).toBe(before);
      const started = performance.now();
      await expect.poll(async () => header((await signUp(b)).access_token).kid, { timeout: 5000, interval: 50 }).toBe(rotated.kid);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeLessThan(5000);
      const jwks = (await (await fetch(`${b.url}/auth/v1/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([before, rotated.kid]));
      const fromA = await signUp(a);
      expect(header(fromA.access_token).kid).toBe(rotated.kid);
      expect(await userStatus(b, fromA.access_token)).toBe(200);
    });
  });

  describe('/health', () => {
    it('reports the database and the broker', async () => {
      const node = await start(deploymentEnv());
      const response = await fetch(`${node.url}/health`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ok', database: { status: 'up', kind: 'postgres' }, broker: { status: 'up', kind: 'redis' } });
    });
  });
});
