import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../../../test-support/integration.js';
import { createPostgresDatabase } from '../../../../test-support/databases.js';
import { LATCHKEY_BIN, runLatchkey as run, spawnNode, type Spawned } from '../../../../test-support/processes.js';
import { email, post, TEST_ENV } from './support.js';

describeWith(['DATABASE_URL'], 'latchkey mail shows the outbox of a running server', () => {
  let target: { url: string; drop: () => Promise<void> };
  let server: Spawned;
  let auth: string;
  const env = () => ({ ...TEST_ENV, DATABASE_URL: target.url });
  beforeAll(async () => {
    target = await createPostgresDatabase();
    server = spawnNode(LATCHKEY_BIN, ['serve'], { ...env(), PORT: '0' });
    auth = (await server.waitFor(/identity\s+(http:\/\/\S+\/auth\/v1)/, 30_000))[1]!;
  }, 60_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await target?.drop();
  });

  it('prints the sign-in mail with its code and link', async () => {
    const address = email('cli-mail');
    expect((await post(`${auth}/otp`, { email: address })).status).toBe(200);
    let output = '';
    for (let attempt = 0; attempt < 5 && !output.includes('code:'); attempt += 1) {
      const result = await run(['mail', '--to', address, '--json'], env());
      expect(result.code).toBe(0);
      output = result.output;
    }
    const { messages } = JSON.parse(output) as { messages: { to: string; text: string }[] };
    expect(messages[0]!.to).toBe(address);
    const code = /code: (\d{6})/.exec(messages[0]!.text)![1]!;
    const verified = await post(`${auth}/verify`, { type: 'email', email: address, token: code });
    expect(verified.status).toBe(200);
    expect(typeof verified.body.access_token).toBe('string');
  }, 120_000);
});
