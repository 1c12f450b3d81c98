import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWith } from '../../../../test-support/integration.js';
import { createPostgresDatabase } from '../../../../test-support/databases.js';
import { LATCHKEY_BIN, spawnNode, type Spawned } from '../../../../test-support/processes.js';
import { email, post, TEST_ENV } from './support.js';

async function run(args: string[], env: Record<string, string>): Promise<{ code: number | string; output: string }> {
  const proc = spawnNode(LATCHKEY_BIN, args, env);
  const code = await proc.exited;
  return { code, output: proc.output() };
}

describe('latchkey keys rotate on the embedded database', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-keys-'));
  });
  afterAll(async () => {
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('refuses to rotate keys that come from GOTRUE_JWT_KEYS (exit 2, one line)', async () => {
    const result = await run(['keys', 'rotate'], { LATCHKEY_DATA_DIR: dataDir, GOTRUE_JWT_KEYS: '[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ","kid":"k1"}]' });
    expect(result.code).toBe(2);
    expect(result.output.trim()).toBe('latchkey: GOTRUE_JWT_KEYS: signing keys come from this variable; rotate them there');
  });
});

describeWith(['DATABASE_URL'], 'latchkey keys rotate against a running server', () => {
  let target: { url: string; drop: () => Promise<void> };
  let server: Spawned;
  let auth: string;
  const env = () => ({ ...TEST_ENV, DATABASE_URL: target.url, LATCHKEY_JWT_KEYS_RELOAD_INTERVAL: '0.5' });
  beforeAll(async () => {
    target = await createPostgresDatabase();
    server = spawnNode(LATCHKEY_BIN, ['serve'], { ...env(), PORT: '0' });
    auth = (await server.waitFor(/identity\s+(http:\/\/\S+\/auth\/v1)/, 30_000))[1]!;
    await server.waitFor(/service_role key\s+\S+/);
  }, 60_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await target?.drop();
  });

  it('prints the keys of the banner; after rotation old tokens verify and new ones carry the new kid', async () => {
    const printed = JSON.parse((await run(['keys', '--json'], env())).output) as { anon_key: string; service_role_key: string };
    expect(server.output()).toContain(printed.anon_key);
    expect(server.output()).toContain(printed.service_role_key);

    const before = await post(`${auth}/signup`, { email: email('cli'), password: 'correct-horse-1' });
    const oldKid = decodeProtectedHeader(before.body.access_token as string).kid;

    const rotated = await run(['keys', 'rotate', '--json'], env());
    expect(rotated.code).toBe(0);
    const result = JSON.parse(rotated.output) as { kid: string; retired_kid: string };
    expect(result.retired_kid).toBe(oldKid);
    await new Promise((resolve) => setTimeout(resolve, 1200));

    const after = await post(`${auth}/signup`, { email: email('cli'), password: 'correct-horse-1' });
    expect(decodeProtectedHeader(after.body.access_token as string).kid).toBe(result.kid);
    const jwks = createRemoteJWKSet(new URL(`${auth}/.well-known/jwks.json`));
    await expect(jwtVerify(before.body.access_token as string, jwks)).resolves.toBeDefined();
    await expect(jwtVerify(after.body.access_token as string, jwks)).resolves.toBeDefined();
    // The API keys were signed by the retired key and keep working.
    const list = await fetch(`${auth}/admin/users`, { headers: { authorization: `Bearer ${printed.service_role_key}` } });
    expect(list.status).toBe(200);
  }, 60_000);
});
