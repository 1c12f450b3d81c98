import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../../../../test-support/integration.js';
import { createPostgresDatabase } from '../../../../test-support/databases.js';
import { LATCHKEY_BIN, runLatchkey as run, spawnNode, type Spawned } from '../../../../test-support/processes.js';
import { post, TEST_ENV } from './support.js';
import { phoneNumber } from './sms.js';

describeWith(['DATABASE_URL'], 'latchkey sms shows the SMS outbox of a running server', () => {
  let target: { url: string; drop: () => Promise<void> };
  let server: Spawned;
  let auth: string;
  const env = () => ({ ...TEST_ENV, DATABASE_URL: target.url });
  beforeAll(async () => {
    target = await createPostgresDatabase();
    server = spawnNode(LATCHKEY_BIN, ['serve'], { ...env(), PORT: '0', GOTRUE_EXTERNAL_PHONE_ENABLED: 'true' });
    auth = (await server.waitFor(/identity\s+(http:\/\/\S+\/auth\/v1)/, 30_000))[1]!;
    await server.waitFor(/sms\s+development outbox \(latchkey sms\)/);
  }, 60_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await target?.drop();
  });

  it('prints the texted sign-in code, which then signs in', async () => {
    const phone = phoneNumber();
    expect((await post(`${auth}/otp`, { phone })).status).toBe(200);
    const result = await run(['sms', '--to', phone, '--json'], env());
    expect(result.code, result.output).toBe(0);
    const { messages } = JSON.parse(result.output) as { messages: { to: string; body: string; channel: string }[] };
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ to: phone, channel: 'sms' });
    const code = /(\d{6})/.exec(messages[0]!.body)![1]!;
    const human = await run(['sms', '--to', phone.slice(1)], env());
    expect(human.output).toContain(`to ${phone} (sms)`);
    expect(human.output).toContain(`Your code is ${code}`);
    expect((await run(['sms', '--limit', '0'], env())).code).not.toBe(0);
    const verified = await post(`${auth}/verify`, { type: 'sms', phone, token: code });
    expect(verified.status).toBe(200);
    expect(typeof verified.body.access_token).toBe('string');
  }, 120_000);
});
