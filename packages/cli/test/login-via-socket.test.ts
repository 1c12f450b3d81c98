import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadServerConfig, startServer, type RunningServer } from '@latchkey/server';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { homes, latchkey } from './support.js';

const newHome = homes('latchkey-socket-login-');
const PASSWORD = 'correct-horse-battery-1';

describeEachDatabase('latchkey login --via-socket', (database) => {
  let server: RunningServer;
  let anonKey: string;
  beforeAll(async () => {
    server = await startServer({
      env: { LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0', LATCHKEY_RATE_LIMIT_SIGNUP: '0' },
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      database: database(),
      services: { identity: true, gateway: true },
    });
    anonKey = server.services.identity!.apiKeys.anonKey;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('signs in through the gateway, keeps the session for later commands, and refuses a wrong password', { timeout: 60_000 }, async () => {
    const email = `socket-cli-${randomUUID()}@example.com`;
    const signedUp = await fetch(`${server.url}/auth/v1/signup`, { method: 'POST', headers: { apikey: anonKey, 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
    expect(signedUp.status).toBe(200);
    const home = await newHome();
    const login = await latchkey(home, ['login', '--via-socket', '--url', server.url, '--email', email, '--password-stdin'], `${PASSWORD}\n`);
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`as ${email}`);
    const whoami = await latchkey(home, ['whoami', '--json']);
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ email });

    const refused = await latchkey(await newHome(), ['login', '--via-socket', '--url', server.url, '--email', email, '--password-stdin'], 'wrong-password\n');
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/invalid_credentials|Invalid login credentials/);
  });
});
