import { createHash, createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadServerConfig, startServer, type RunningServer } from '@latchkey/server';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { homes, latchkey } from './support.js';

const SHOPIFY_SECRET = 'shopify-client-secret-cli';
const newHome = homes('latchkey-webhooks-');

describeEachDatabase('latchkey webhooks list|show|replay', (database) => {
  let server: RunningServer;
  let serviceRoleKey: string;
  beforeAll(async () => {
    server = await startServer({
      env: { LATCHKEY_WEBHOOK_SHOPIFY_SECRET: SHOPIFY_SECRET },
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      database: database(),
      services: { identity: true, webhooks: true },
    });
    serviceRoleKey = server.services.identity!.apiKeys.serviceRoleKey;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lists, shows and replays stored events with the service_role key; refuses other keys', { timeout: 60_000 }, async () => {
    const body = JSON.stringify({ id: randomUUID(), topic: 'orders/create' });
    const delivery = randomUUID();
    const response = await fetch(`${server.url}/webhooks/shopify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-webhook-id': delivery, 'x-shopify-hmac-sha256': createHmac('sha256', SHOPIFY_SECRET).update(body).digest('base64') },
      body,
    });
    const { id } = (await response.json()) as { id: number };
    // Shopify does not sign its delivery id, so its events are keyed by the digest of the signed body.
    const deliveryKey = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const home = await newHome();
    const flags = ['--url', server.url, '--service-role-key', serviceRoleKey];

    const listed = await latchkey(home, ['webhooks', 'list', '--endpoint', 'shopify', '--json', ...flags]);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { events: { id: number; delivery_key: string }[] }).events).toEqual([expect.objectContaining({ id, delivery_key: deliveryKey })]);

    const shown = await latchkey(home, ['webhooks', 'show', String(id), ...flags]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`delivery key   ${deliveryKey}`);
    expect(shown.stdout).toContain(body);

    const replayed = await latchkey(home, ['webhooks', 'replay', String(id), ...flags]);
    expect({ code: replayed.code, stdout: replayed.stdout }).toEqual({ code: 0, stdout: `replayed ${id}\n` });

    const refused = await latchkey(home, ['webhooks', 'list', '--url', server.url, '--service-role-key', 'not-a-key']);
    expect(refused.code).toBe(3);
    expect((await latchkey(home, ['webhooks', 'show', 'abc', ...flags])).code).toBe(2);
    expect((await latchkey(home, ['webhooks', 'show', '999999999', ...flags])).code).toBe(1);
  });
});
