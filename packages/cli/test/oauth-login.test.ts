import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LatchkeyApi } from '@latchkey/client';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { LATCHKEY_BIN, spawnNode } from '../../../test-support/processes.js';
import { email, PASSWORD, startStack, type Stack } from '../../client/test/support.js';

const scratch: string[] = [];
afterAll(async () => {
  await Promise.all(scratch.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

async function latchkey(env: Record<string, string>, args: readonly string[], input = '') {
  const proc = spawnNode(LATCHKEY_BIN, args, env);
  proc.child.stdin?.end(input);
  let stdout = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await proc.exited;
  return { code, stdout, output: proc.output() };
}

async function home(): Promise<Record<string, string>> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-cli-oauth-'));
  scratch.push(dir);
  return { XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config'), HOME: dir, NO_COLOR: '1', LATCHKEY_URL: '' };
}

describeEachDatabase('latchkey login on the OAuth token endpoint', (database) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(database());
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('logs in as an OAuth client; token prints its access token', async () => {
    const response = await fetch(`${stack.url}/auth/v1/admin/oauth/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.identity.apiKeys.serviceRoleKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'cli test' }),
    });
    const client = (await response.json()) as { client_id: string; client_secret: string };
    const env = await home();
    const login = await latchkey({ ...env, LATCHKEY_CLIENT_SECRET: client.client_secret }, ['login', '--url', stack.url, '--client-id', client.client_id, '--json']);
    expect(login.code).toBe(0);
    expect(JSON.parse(login.stdout)).toMatchObject({ url: stack.url, refresh_token: false });
    const token = await latchkey(env, ['token']);
    expect(token.code).toBe(0);
    expect(await stack.identity.verifyToken(token.stdout.trim())).toMatchObject({ sub: client.client_id });
  }, 180_000);

  it('logs in with a TOTP code', async () => {
    const address = email('cli-totp');
    const api = new LatchkeyApi(stack.url, { anonKey: stack.anonKey });
    await api.auth.signUp({ email: address, password: PASSWORD });
    const factor = await api.request<{ id: string; totp: { secret: string } }>('POST', '/auth/v1/factors', { factor_type: 'totp' });
    const challenge = await api.request<{ id: string }>('POST', `/auth/v1/factors/${factor.id}/challenge`, {});
    await api.request('POST', `/auth/v1/factors/${factor.id}/verify`, { challenge_id: challenge.id, code: authenticator.generate(factor.totp.secret) });
    const env = await home();
    const missing = await latchkey(env, ['login', '--url', stack.url, '--email', address, '--password-stdin', '--totp', '000000'], `${PASSWORD}\n`);
    expect(missing.code).toBe(3);
    const code = authenticator.clone({ epoch: Date.now() + 30_000 }).generate(factor.totp.secret);
    const login = await latchkey(env, ['login', '--url', stack.url, '--email', address, '--password-stdin', '--totp', code], `${PASSWORD}\n`);
    expect(login).toMatchObject({ code: 0, output: `Logged in to ${stack.url} as ${address}\n` });
    const token = await latchkey(env, ['token']);
    expect(await stack.identity.verifyToken(token.stdout.trim())).toMatchObject({ email: address, aal: 'aal2' });
  }, 180_000);
});
