import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig, startServer, type Database, type RunningServer } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { buildOpenApiDocument } from '../../src/organizations/openapi.js';
import { loadGatewaySettings } from '../../src/gateway/index.js';
import { loadWebhookSettings } from '../../src/webhooks/index.js';
import { TEST_ENV } from '../identity/support.js';
import { officialClient, once } from '../gateway/support.js';

const META_SECRET = 'meta-app-secret-0123';
const VERIFY_TOKEN = 'meta-verify-token';
const SHOPIFY_SECRET = 'shopify-client-secret-0123';
const STRIPE_SECRET = `whsec_${randomBytes(24).toString('hex')}`;
const INTERNAL_TOKEN = 'internal-bearer-token-0123456789';
const ORDERS_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

/** The forward target: answers 500 to the first request of each event, then 200, and records every body. */
interface ForwardTarget {
  readonly url: string;
  readonly received: { event: string; body: string; status: number }[];
  close(): Promise<void>;
}

async function startForwardTarget(): Promise<ForwardTarget> {
  const received: ForwardTarget['received'] = [];
  const seen = new Set<string>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const event = String(request.headers['x-latchkey-webhook-event']);
      const status = seen.has(event) ? 200 : 500;
      seen.add(event);
      received.push({ event, body: Buffer.concat(chunks).toString('utf8'), status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describeEachDatabase('inbound webhook endpoints', (database) => {
  let server: RunningServer;
  let target: ForwardTarget;
  let serviceRoleKey: string;
  let anonKey: string;
  const count = async () => Number((await database().query<{ n: number }>('select count(*)::int8 as n from latchkey.webhook_events')).rows[0]!.n);

  beforeAll(async () => {
    target = await startForwardTarget();
    const env = {
      ...TEST_ENV,
      LATCHKEY_WEBHOOK_WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
      LATCHKEY_WEBHOOK_WHATSAPP_APP_SECRET: META_SECRET,
      LATCHKEY_WEBHOOK_SHOPIFY_SECRET: SHOPIFY_SECRET,
      LATCHKEY_WEBHOOK_STRIPE_SECRET: STRIPE_SECRET,
      LATCHKEY_WEBHOOK_INTERNAL_TOKEN: INTERNAL_TOKEN,
      LATCHKEY_WEBHOOK_ORDERS_SECRET: ORDERS_SECRET,
      LATCHKEY_WEBHOOK_ORDERS_FORWARD_URL: target.url,
      LATCHKEY_WEBHOOK_FORWARD_BACKOFF: '0.05',
      LATCHKEY_WEBHOOK_MAX_BODY: '4096',
    };
    server = await startServer({
      env,
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      database: database(),
      services: { identity: true, gateway: true, webhooks: true },
    });
    ({ serviceRoleKey, anonKey } = server.services.identity!.apiKeys);
  });
  afterAll(async () => {
    await server?.close();
    await target?.close();
  });

  const post = async (path: string, body: string, headers: Record<string, string>) => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const admin = async (method: string, path: string, key = serviceRoleKey) => {
    const response = await fetch(`${server.url}/auth/v1/admin/webhooks${path}`, { method, headers: { apikey: anonKey, authorization: `Bearer ${key}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers the WhatsApp handshake and verifies X-Hub-Signature-256', async () => {
    const ok = await fetch(`${server.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    expect((await fetch(`${server.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1`)).status).toBe(403);

    const before = await count();
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: randomUUID() }] });
    const signature = `sha256=${createHmac('sha256', META_SECRET).update(body).digest('hex')}`;
    const first = await post('/webhooks/whatsapp', body, { 'x-hub-signature-256': signature });
    expect(first).toMatchObject({ status: 200, body: { received: true } });
    expect(await post('/webhooks/whatsapp', body, { 'x-hub-signature-256': signature })).toEqual({ status: 200, body: { received: true, duplicate: true } });
    expect((await post('/webhooks/whatsapp', `${body} `, { 'x-hub-signature-256': signature })).status).toBe(401);
    expect((await post('/webhooks/whatsapp', body, {})).status).toBe(401);
    expect(await count()).toBe(before + 1);
    // No delivery id from Meta: the key is the body's digest.
    const shown = await admin('GET', `/events/${first.body.id as number}`);
    expect(shown.body).toMatchObject({ endpoint: 'whatsapp', delivery_key: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), body, body_encoding: 'utf8' });
  });

  it('verifies Shopify, Stripe and internal bearer deliveries; duplicates and bad signatures store nothing', async () => {
    const before = await count();
    const shopifyBody = JSON.stringify({ id: Math.floor(Math.random() * 1e9), topic: 'orders/create' });
    const shopifyHmac = createHmac('sha256', SHOPIFY_SECRET).update(shopifyBody).digest('base64');
    const shopifyId = randomUUID();
    expect((await post('/webhooks/shopify', shopifyBody, { 'x-shopify-hmac-sha256': shopifyHmac, 'x-shopify-webhook-id': shopifyId })).status).toBe(200);
    expect((await post('/webhooks/shopify', shopifyBody, { 'x-shopify-hmac-sha256': shopifyHmac, 'x-shopify-webhook-id': shopifyId })).body).toMatchObject({ duplicate: true });
    // The webhook id header is not signed: a captured delivery sent again under a fresh id is still a duplicate.
    expect((await post('/webhooks/shopify', shopifyBody, { 'x-shopify-hmac-sha256': shopifyHmac, 'x-shopify-webhook-id': randomUUID() })).body).toMatchObject({ duplicate: true });
    expect((await post('/webhooks/shopify', shopifyBody, { 'x-shopify-hmac-sha256': shopifyHmac })).body).toMatchObject({ duplicate: true });
    expect((await post('/webhooks/shopify', shopifyBody, { 'x-shopify-hmac-sha256': createHmac('sha256', 'other-secret').update(shopifyBody).digest('base64') })).status).toBe(401);

    const stripe = new Stripe('sk_test_unused');
    const stripeBody = JSON.stringify({ id: `evt_${randomUUID().replace(/-/g, '')}`, object: 'event', type: 'payment_intent.succeeded' });
    const stripeHeader = stripe.webhooks.generateTestHeaderString({ payload: stripeBody, secret: STRIPE_SECRET });
    expect(stripeHeader).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect((await post('/webhooks/stripe', stripeBody, { 'stripe-signature': stripeHeader })).status).toBe(200);
    // Stripe retries with a new timestamp and signature: the event id makes it a duplicate.
    const retried = stripe.webhooks.generateTestHeaderString({ payload: stripeBody, secret: STRIPE_SECRET, timestamp: Math.floor(Date.now() / 1000) - 5 });
    expect((await post('/webhooks/stripe', stripeBody, { 'stripe-signature': retried })).body).toMatchObject({ duplicate: true });
    const stale = stripe.webhooks.generateTestHeaderString({ payload: stripeBody, secret: STRIPE_SECRET, timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await post('/webhooks/stripe', stripeBody, { 'stripe-signature': stale })).status).toBe(401);
    expect((await post('/webhooks/stripe', stripeBody, { 'stripe-signature': 'garbage' })).status).toBe(401);

    const internalBody = JSON.stringify({ job: randomUUID() });
    expect((await post('/webhooks/internal', internalBody, { authorization: `Bearer ${INTERNAL_TOKEN}` })).status).toBe(200);
    expect((await post('/webhooks/internal', internalBody, { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
    expect((await post('/webhooks/internal', internalBody, {})).status).toBe(401);
    expect(await count()).toBe(before + 3);
    // The bearer is never stored with the event.
    const { rows } = await database().query<{ headers: Record<string, string> }>(`select headers from latchkey.webhook_events where endpoint = 'internal'`);
    expect(rows.every((row) => row.headers.authorization === undefined)).toBe(true);
  });

  it('reflects no markup from the handshake and verifies the bytes as sent, whatever the content type', async () => {
    const ok = await fetch(`${server.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=abc-123`);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    for (const challenge of ['<script>alert(1)</script>', '"><img src=x>', 'a%0d%0aSet-Cookie:x=1']) {
      const refused = await fetch(`${server.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=${challenge}`);
      expect(refused.status).toBe(400);
      expect(await refused.text()).not.toContain('<');
    }
    // A signature over a re-serialized body does not pass for the bytes actually sent.
    const sent = `{"object": "whatsapp_business_account", "entry": [{"id": "${randomUUID()}"}]}`;
    const reserialized = JSON.stringify(JSON.parse(sent));
    expect((await post('/webhooks/whatsapp', sent, { 'x-hub-signature-256': `sha256=${createHmac('sha256', META_SECRET).update(reserialized).digest('hex')}` })).status).toBe(401);
    // Any content type (or none) is verified and stored byte for byte.
    for (const type of [undefined, 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1']) {
      const body = Buffer.from(`a=1&b=${randomUUID()}&c=\u00e9\xff`, 'latin1');
      const response = await fetch(`${server.url}/webhooks/internal`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INTERNAL_TOKEN}`, ...(type !== undefined ? { 'content-type': type } : {}) },
        body: new Uint8Array(body),
      });
      expect(response.status).toBe(200);
      const { id } = (await response.json()) as { id: number };
      const { rows } = await database().query<{ body: Uint8Array }>(`select body from latchkey.webhook_events where id = $1`, [id]);
      expect(Buffer.from(rows[0]!.body).equals(body)).toBe(true);
    }
  });

  it('refuses stale Stripe and Standard Webhooks deliveries, and a signed delivery under another id', async () => {
    const before = await count();
    const stripe = new Stripe('sk_test_unused');
    const stripeBody = JSON.stringify({ id: `evt_${randomUUID().replace(/-/g, '')}`, object: 'event', type: 'charge.refunded' });
    const stale = stripe.webhooks.generateTestHeaderString({ payload: stripeBody, secret: STRIPE_SECRET, timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect((await post('/webhooks/stripe', stripeBody, { 'stripe-signature': stale })).status).toBe(401);

    const messageId = `msg_${randomUUID()}`;
    const body = JSON.stringify({ type: 'order.paid', id: randomUUID() });
    const old = new Date(Date.now() - 600_000);
    const oldHeaders = { 'webhook-id': messageId, 'webhook-timestamp': String(Math.floor(old.getTime() / 1000)), 'webhook-signature': new Webhook(ORDERS_SECRET).sign(messageId, old, body) };
    expect((await post('/webhooks/orders', body, oldHeaders)).status).toBe(401);
    // The id is signed: a captured delivery sent under a chosen id (to take a later event's place) is refused.
    const now = new Date();
    const headers = { 'webhook-id': messageId, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(ORDERS_SECRET).sign(messageId, now, body) };
    expect((await post('/webhooks/orders', body, { ...headers, 'webhook-id': `msg_${randomUUID()}` })).status).toBe(401);
    expect(await count()).toBe(before);
  });

  it('refuses an oversized body with 413, and unknown endpoints with 404', async () => {
    const before = await count();
    const big = JSON.stringify({ padding: 'x'.repeat(8000) });
    expect((await post('/webhooks/internal', big, { authorization: `Bearer ${INTERNAL_TOKEN}` })).status).toBe(413);
    expect((await post('/webhooks/nothing-here', '{}', {})).status).toBe(404);
    expect(await count()).toBe(before);
  });

  it('delivers Standard Webhooks events to the service-role channel and the forward URL, retrying after a failure', async () => {
    // A backend holding a service-role token subscribes to webhooks:orders; a user cannot.
    const email = `backend-${randomUUID()}@example.com`;
    const created = await fetch(`${server.url}/auth/v1/admin/users`, {
      method: 'POST',
      headers: { apikey: anonKey, authorization: `Bearer ${serviceRoleKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'correct-horse-battery-1', email_confirm: true, role: 'service_role' }),
    });
    expect(created.status).toBe(200);
    const signIn = async (address: string) => {
      const response = await fetch(`${server.url}/auth/v1/token?grant_type=password`, {
        method: 'POST',
        headers: { apikey: anonKey, 'content-type': 'application/json' },
        body: JSON.stringify({ email: address, password: 'correct-horse-battery-1' }),
      });
      return ((await response.json()) as { access_token: string }).access_token;
    };
    const userEmail = `user-${randomUUID()}@example.com`;
    await fetch(`${server.url}/auth/v1/signup`, { method: 'POST', headers: { apikey: anonKey, 'content-type': 'application/json' }, body: JSON.stringify({ email: userEmail, password: 'correct-horse-battery-1' }) });
    const wsUrl = `${server.url.replace(/^http/, 'ws')}/connection/websocket`;
    const backend = officialClient(wsUrl, { token: await signIn(email) });
    const user = officialClient(wsUrl, { token: await signIn(userEmail) });
    try {
      backend.connect();
      user.connect();
      await Promise.all([once(backend, 'connected'), once(user, 'connected')]);
      const refused = user.newSubscription('webhooks:orders');
      const unsubscribed = once<{ code: number }>(refused, 'unsubscribed');
      refused.subscribe();
      expect((await unsubscribed).code).toBe(103);
      const orders = backend.newSubscription('webhooks:orders');
      const publications: unknown[] = [];
      orders.on('publication', (context: { data: unknown }) => publications.push(context.data));
      orders.subscribe();
      await once(orders, 'subscribed');

      const body = JSON.stringify({ type: 'order.paid', order: randomUUID() });
      const messageId = `msg_${randomUUID()}`;
      const signed = new Webhook(ORDERS_SECRET).sign(messageId, new Date(), body);
      const headers = { 'webhook-id': messageId, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': signed };
      const accepted = await post('/webhooks/orders', body, headers);
      expect(accepted).toMatchObject({ status: 200, body: { received: true } });
      const id = accepted.body.id as number;
      expect((await post('/webhooks/orders', body, headers)).body).toMatchObject({ duplicate: true });
      expect((await post('/webhooks/orders', body, { ...headers, 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` })).status).toBe(401);

      const publication = await until(() => publications[0]);
      expect(publication).toEqual({ id, endpoint: 'orders', delivery_key: messageId, payload: JSON.parse(body) });
      // The forward target failed the first attempt; the retry succeeded.
      const event = await until(async () => {
        const shown = await admin('GET', `/events/${id}`);
        return shown.body.forward_status === 'delivered' ? shown.body : undefined;
      });
      expect(event).toMatchObject({ forward_attempts: 2, delivery_key: messageId, forward_error: null });
      expect(target.received.filter((entry) => entry.event === String(id)).map((entry) => [entry.status, entry.body])).toEqual([[500, body], [200, body]]);

      // Admin: list, replay (channel and forward again), refusals.
      const listed = await admin('GET', '/events?endpoint=orders&limit=10');
      expect((listed.body.events as { id: number }[]).map((entry) => entry.id)).toContain(id);
      expect(await admin('POST', `/events/${id}/replay`)).toEqual({ status: 202, body: { replayed: true, id } });
      await until(() => publications[1]);
      await until(() => (target.received.filter((entry) => entry.event === String(id)).length === 3 ? true : undefined));
      expect((await admin('GET', '/events/999999999')).status).toBe(404);
      expect((await admin('GET', '/events/abc')).status).toBe(400);
      expect((await admin('GET', '/events', await signIn(userEmail))).status).toBe(403);
      expect((await admin('POST', `/events/${id}/replay`, anonKey)).status).toBe(403);
      expect(await count()).toBeGreaterThan(0);
    } finally {
      backend.disconnect();
      user.disconnect();
    }
  });

  it('describes the endpoints in an admin-only OpenAPI document, never in the public one', async () => {
    const document = await admin('GET', '/openapi.json');
    expect(document.status).toBe(200);
    expect(Object.keys(document.body.paths as object)).toEqual(
      expect.arrayContaining(['/webhooks/whatsapp', '/webhooks/shopify', '/webhooks/stripe', '/webhooks/internal', '/webhooks/orders', '/auth/v1/admin/webhooks/events']),
    );
    expect((await admin('GET', '/openapi.json', anonKey)).status).toBe(403);
    const publicPaths = Object.keys(buildOpenApiDocument(server.url).paths as object);
    expect(publicPaths.some((path) => path.includes('webhooks'))).toBe(false);
  });
});

describe('webhook settings', () => {
  it('mounts only what is configured and names the bad variable', () => {
    expect(loadWebhookSettings({}).endpoints).toEqual([]);
    const settings = loadWebhookSettings({ LATCHKEY_WEBHOOK_ORDERS_API_SECRET: ORDERS_SECRET, LATCHKEY_WEBHOOK_WHATSAPP_APP_SECRET: META_SECRET });
    expect(settings.endpoints.map((endpoint) => [endpoint.name, endpoint.scheme.kind])).toEqual([
      ['whatsapp', 'meta'],
      ['orders-api', 'standard'],
    ]);
    expect(() => loadWebhookSettings({ LATCHKEY_WEBHOOK_ORDERS_SECRET: 'not-a-secret' })).toThrow(/^LATCHKEY_WEBHOOK_ORDERS_SECRET: /);
    expect(() => loadWebhookSettings({ LATCHKEY_WEBHOOK_INTERNAL_TOKEN: 'short' })).toThrow(/^LATCHKEY_WEBHOOK_INTERNAL_TOKEN: must be at least 16 characters/);
    expect(() => loadWebhookSettings({ LATCHKEY_WEBHOOK_STRIPE_SECRET: STRIPE_SECRET, LATCHKEY_WEBHOOK_STRIPE_FORWARD_URL: 'ftp://x' })).toThrow(/^LATCHKEY_WEBHOOK_STRIPE_FORWARD_URL/);
    expect(() => loadWebhookSettings({ LATCHKEY_WEBHOOK_MAX_BODY: '10' })).toThrow(/^LATCHKEY_WEBHOOK_MAX_BODY/);
  });

  it('keeps the webhooks channel namespace service-role only, with or without a config file', () => {
    expect(loadGatewaySettings({}).channels.namespaces.get('webhooks')).toMatchObject({ allow_subscribe_for_client: true, service_role_only: true });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-webhooks-config-'));
    try {
      const file = path.join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ channel: { namespaces: [{ name: 'chat' }, { name: 'webhooks', allow_subscribe_for_client: true }] } }));
      expect(loadGatewaySettings({ LATCHKEY_GATEWAY_CONFIG: file }).channels.namespaces.get('webhooks')).toMatchObject({ service_role_only: true });
      writeFileSync(file, JSON.stringify({ channel: { namespaces: [{ name: 'chat' }] } }));
      expect(loadGatewaySettings({ LATCHKEY_GATEWAY_CONFIG: file }).channels.namespaces.get('webhooks')).toMatchObject({ service_role_only: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
