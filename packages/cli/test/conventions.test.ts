import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { email, PASSWORD, startStack, type Stack } from '../../client/test/support.js';
import { homes, latchkey } from './support.js';

const RECORD_MODULES = fileURLToPath(new URL('./fixtures/record-modules.mjs', import.meta.url));

const newHome = homes('latchkey-cli-conv-');

/** A local port on which nothing listens. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('latchkey conventions without a server', { timeout: 60_000 }, () => {
  it('--version prints the package version', async () => {
    const manifest = JSON.parse(await fs.readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const home = await newHome();
    expect(await latchkey(home, ['--version'])).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
  });

  it('rpc and listen fail within 2 s with "connection refused" when nothing listens', async () => {
    const home = await newHome();
    const url = `http://127.0.0.1:${await closedPort()}`;
    // The same modules load when the parameters are refused before any connection: what remains is the wait.
    const baseline = await latchkey(home, ['rpc', 'some.method', '{not json', '--url', url]);
    expect(baseline.code).toBe(2);
    for (const args of [['rpc', 'some.method', '{}'], ['listen', 'news']]) {
      const result = await latchkey(home, [...args, '--url', url, '--timeout', '30']);
      expect(result.code).toBe(1);
      expect(result.output).toMatch(/^latchkey: cannot connect to ws:\/\/127\.0\.0\.1:\d+\/connection\/websocket: connection refused\n$/);
      expect(result.ms - baseline.ms).toBeLessThan(2000);
    }
  });
});

describeEachDatabase('latchkey signup, orgs, whoami, token and logout', (database) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(database(), { services: { identity: true, organizations: true, gateway: true } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('signs up and logs in; orgs create, list and switch replace the session; whoami shows the organization', { timeout: 180_000 }, async () => {
    const home = await newHome();
    const address = email('cli-signup');
    const signup = await latchkey(home, ['signup', '--url', stack.url, '--email', address, '--password-stdin'], `${PASSWORD}\n`);
    expect(signup.code, signup.output).toBe(0);
    expect(signup.stdout).toBe(`Signed up to ${stack.url} as ${address}; you are logged in\n`);
    expect((await latchkey(home, ['whoami'])).stdout).toContain('  org   (none)');

    const first = JSON.parse((await latchkey(home, ['orgs', 'create', 'Acme', '--json'])).stdout) as { id: string; name: string };
    const second = JSON.parse((await latchkey(home, ['orgs', 'create', 'Globex', '--json'])).stdout) as { id: string };
    expect(first.name).toBe('Acme');

    const before = JSON.parse(await fs.readFile(home.sessionFile, 'utf8')) as { refresh_token: string };
    const switched = await latchkey(home, ['orgs', 'switch', second.id]);
    expect(switched.code, switched.output).toBe(0);
    const after = JSON.parse(await fs.readFile(home.sessionFile, 'utf8')) as { refresh_token: string; access_token: string };
    expect(after.refresh_token).not.toBe(before.refresh_token);
    const claims = await stack.identity.verifyToken(after.access_token);
    expect(claims.app_metadata).toMatchObject({ organization_id: second.id, org_role: 'owner' });

    const whoami = JSON.parse((await latchkey(home, ['whoami', '--json'])).stdout) as { email: string; organization: unknown };
    expect(whoami).toMatchObject({ email: address, organization: { id: second.id, name: 'Globex', role: 'owner' } });
    expect((await latchkey(home, ['whoami'])).stdout).toContain(`  org   Globex ${second.id} (owner)`);

    const listed = await latchkey(home, ['orgs', 'list']);
    expect(listed.stdout).toBe(`  ${first.id}  Acme  (owner)\n* ${second.id}  Globex  (owner)\n`);
    const unknown = await latchkey(home, ['orgs', 'switch', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/Organization not found/);
  });

  it('token prints a valid stored token without loading the server, fastify, pino, centrifuge or ws', { timeout: 120_000 }, async () => {
    const home = await newHome();
    const address = email('cli-token');
    expect((await latchkey(home, ['signup', '--url', stack.url, '--email', address, '--password-stdin'], `${PASSWORD}\n`)).code).toBe(0);
    const record = path.join(path.dirname(home.sessionFile), 'modules.txt');
    const token = await latchkey(home, ['token'], '', { NODE_OPTIONS: `--import ${RECORD_MODULES}`, RECORD_MODULES_FILE: record });
    expect(token.code).toBe(0);
    expect((await stack.identity.verifyToken(token.stdout.trim())).email).toBe(address);
    const modules = (await fs.readFile(record, 'utf8')).split('\n');
    expect(modules.some((url) => /\/cli\/(src|dist)\/commands\/token\./.test(url))).toBe(true);
    const heavy = modules.filter((url) => /\/(server\/(src|dist)|node_modules\/(fastify|pino|centrifuge|ws|@electric-sql))\//.test(url));
    expect(heavy).toEqual([]);
  });

  it('logout removes the local session when the server cannot be reached, and says so', { timeout: 120_000 }, async () => {
    const home = await newHome();
    const address = email('cli-logout');
    expect((await latchkey(home, ['signup', '--url', stack.url, '--email', address, '--password-stdin'], `${PASSWORD}\n`)).code).toBe(0);
    const url = `http://127.0.0.1:${await closedPort()}`;
    const logout = await latchkey(home, ['logout', '--url', url]);
    expect(logout.code, logout.output).toBe(0);
    expect(logout.stdout).toBe(`Removed the local session; ${url} could not be reached, so the session was not ended on the server\n`);
    await expect(fs.stat(home.sessionFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await latchkey(home, ['token'])).code).toBe(3);
  });
});
