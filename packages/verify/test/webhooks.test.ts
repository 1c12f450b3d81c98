import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { describeWith } from '../../../test-support/integration.js';
import {
  memoryReplayStore,
  postgresReplayStore,
  redisReplayStore,
  standardWebhookVerifier,
  verifyMetaHandshake,
  verifyMetaSignature,
  verifyShopifyWebhook,
  verifyStaticBearer,
  verifyStripeWebhook,
  WebhookError,
  type ReplayStore,
  type WebhookErrorCode,
} from '../src/webhooks/index.js';

/** Body with non-ASCII and escaped unicode, as providers send it: never re-serialise. */
const BODY = Buffer.from('{"object":"page","entry":[{"name":"J\\u00f6rg","text":"grüß"}]}', 'utf8');

function failure(run: () => unknown): { code: WebhookErrorCode; status: number } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookError);
    return { code: (error as WebhookError).code, status: (error as WebhookError).status };
  }
  throw new Error('expected a WebhookError');
}

async function failureOf(promise: Promise<unknown>): Promise<{ code: WebhookErrorCode; status: number }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookError);
    return { code: (error as WebhookError).code, status: (error as WebhookError).status };
  }
  throw new Error('expected a WebhookError');
}

describe('Meta verify-token handshake and X-Hub-Signature-256', () => {
  const tokens = ['old-verify-token', 'new-verify-token'];
  it('answers the handshake with the challenge', () => {
    const query = new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.verify_token': 'new-verify-token', 'hub.challenge': '1158201444' });
    expect(verifyMetaHandshake(query, { verifyTokens: tokens })).toBe('1158201444');
    expect(verifyMetaHandshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'old-verify-token', 'hub.challenge': 'abc' }, { verifyTokens: tokens })).toBe('abc');
    expect(failure(() => verifyMetaHandshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': 'x' }, { verifyTokens: tokens }))).toEqual({ code: 'ERR_WEBHOOK_TOKEN_INVALID', status: 403 });
    expect(failure(() => verifyMetaHandshake({ 'hub.mode': 'unsubscribe', 'hub.verify_token': 'new-verify-token', 'hub.challenge': 'x' }, { verifyTokens: tokens })).code).toBe('ERR_WEBHOOK_HANDSHAKE_INVALID');
    expect(failure(() => verifyMetaHandshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'new-verify-token', 'hub.challenge': '<script>' }, { verifyTokens: tokens })).code).toBe('ERR_WEBHOOK_HANDSHAKE_INVALID');
    expect(failure(() => verifyMetaHandshake({ 'hub.mode': 'subscribe', 'hub.verify_token': 'new-verify-token' }, { verifyTokens: tokens })).status).toBe(400);
  });

  it('verifies the HMAC over the raw bytes with any active secret', () => {
    const secrets = ['previous-app-secret', 'current-app-secret'];
    const signature = `sha256=${createHmac('sha256', 'current-app-secret').update(BODY).digest('hex')}`;
    const delivery = verifyMetaSignature({ headers: { 'x-hub-signature-256': signature }, body: BODY }, { secrets });
    expect(delivery.json<{ entry: Array<{ name: string }> }>().entry[0]?.name).toBe('Jörg');
    expect(verifyMetaSignature({ headers: new Headers({ 'X-Hub-Signature-256': signature }), body: new Uint8Array(BODY) }, { secrets }).body.equals(BODY)).toBe(true);

    const reserialised = Buffer.from(JSON.stringify(JSON.parse(BODY.toString('utf8'))));
    expect(failure(() => verifyMetaSignature({ headers: { 'x-hub-signature-256': signature }, body: reserialised }, { secrets }))).toEqual({ code: 'ERR_WEBHOOK_SIGNATURE_INVALID', status: 401 });
    expect(failure(() => verifyMetaSignature({ headers: { 'x-hub-signature-256': signature }, body: BODY }, { secrets: ['retired'] })).code).toBe('ERR_WEBHOOK_SIGNATURE_INVALID');
    expect(failure(() => verifyMetaSignature({ headers: {}, body: BODY }, { secrets })).code).toBe('ERR_WEBHOOK_SIGNATURE_MISSING');
    expect(failure(() => verifyMetaSignature({ headers: { 'x-hub-signature-256': 'sha1=abcd' }, body: BODY }, { secrets })).code).toBe('ERR_WEBHOOK_SIGNATURE_MALFORMED');
    expect(failure(() => verifyMetaSignature({ headers: { 'x-hub-signature-256': [signature, signature] }, body: BODY }, { secrets })).code).toBe('ERR_WEBHOOK_SIGNATURE_MALFORMED');
  });

  it('parses only after verifying, and reports a bad verified body as a payload error', () => {
    const body = Buffer.from('not json');
    const signature = `sha256=${createHmac('sha256', 's').update(body).digest('hex')}`;
    const delivery = verifyMetaSignature({ headers: { 'x-hub-signature-256': signature }, body }, { secrets: 's' });
    expect(failure(() => delivery.json()).code).toBe('ERR_WEBHOOK_PAYLOAD_INVALID');
  });
});

describe('Shopify X-Shopify-Hmac-Sha256', () => {
  it('verifies the base64 HMAC of the raw body', () => {
    const hmac = createHmac('sha256', 'shpss_client_secret').update(BODY).digest('base64');
    expect(verifyShopifyWebhook({ headers: { 'x-shopify-hmac-sha256': hmac }, body: BODY }, { secrets: ['shpss_client_secret'] }).body.length).toBe(BODY.length);
    expect(verifyShopifyWebhook({ headers: { 'shopify-hmac-sha256': hmac }, body: BODY }, { secrets: ['older', 'shpss_client_secret'] }).json()).toBeTruthy();
    expect(failure(() => verifyShopifyWebhook({ headers: { 'x-shopify-hmac-sha256': hmac }, body: Buffer.concat([BODY, Buffer.from(' ')]) }, { secrets: 'shpss_client_secret' })).code).toBe('ERR_WEBHOOK_SIGNATURE_INVALID');
    expect(failure(() => verifyShopifyWebhook({ headers: { 'x-shopify-hmac-sha256': 'not base64!' }, body: BODY }, { secrets: 'shpss_client_secret' })).code).toBe('ERR_WEBHOOK_SIGNATURE_MALFORMED');
  });
});

describe('Stripe-Signature', () => {
  const secret = `whsec_${randomBytes(24).toString('hex')}`;
  const stripe = new Stripe('sk_test_placeholder');

  it('accepts headers made by stripe.webhooks.generateTestHeaderString', () => {
    const payload = BODY.toString('utf8');
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
    const delivery = verifyStripeWebhook({ headers: { 'stripe-signature': header }, body: BODY }, { secrets: ['whsec_retired', secret] });
    expect(delivery.timestamp).toBeGreaterThan(0);
    // And stripe's own verifier agrees about the same header.
    expect(stripe.webhooks.constructEvent(payload, header, secret)).toMatchObject({ object: 'page' });
  });

  it('accepts an independently computed header with several v1 signatures, within the tolerance only', () => {
    const t = Math.floor(Date.now() / 1000);
    const mac = createHmac('sha256', secret).update(`${t}.`).update(BODY).digest('hex');
    const header = `t=${t},v1=${'0'.repeat(64)},v1=${mac},v0=ignored`;
    expect(verifyStripeWebhook({ headers: { 'Stripe-Signature': header }, body: BODY }, { secrets: secret }).timestamp).toBe(t);
    const later = () => (t + 301) * 1000;
    expect(failure(() => verifyStripeWebhook({ headers: { 'stripe-signature': header }, body: BODY }, { secrets: secret, now: later }))).toEqual({ code: 'ERR_WEBHOOK_TIMESTAMP_INVALID', status: 401 });
    const earlier = () => (t - 301) * 1000;
    expect(failure(() => verifyStripeWebhook({ headers: { 'stripe-signature': header }, body: BODY }, { secrets: secret, now: earlier })).code).toBe('ERR_WEBHOOK_TIMESTAMP_INVALID');
    expect(failure(() => verifyStripeWebhook({ headers: { 'stripe-signature': `t=${t + 1},v1=${mac}` }, body: BODY }, { secrets: secret })).code).toBe('ERR_WEBHOOK_SIGNATURE_INVALID');
    expect(failure(() => verifyStripeWebhook({ headers: { 'stripe-signature': `v1=${mac}` }, body: BODY }, { secrets: secret })).code).toBe('ERR_WEBHOOK_SIGNATURE_MALFORMED');
    expect(failure(() => verifyStripeWebhook({ headers: { 'stripe-signature': 'garbage' }, body: BODY }, { secrets: secret })).code).toBe('ERR_WEBHOOK_SIGNATURE_MALFORMED');
  });
});

describe('static bearer token', () => {
  it('compares in constant time against every active token', () => {
    expect(() => verifyStaticBearer({ authorization: 'Bearer new-token' }, { tokens: ['old-token', 'new-token'] })).not.toThrow();
    expect(failure(() => verifyStaticBearer({ authorization: 'Bearer nope' }, { tokens: ['old-token', 'new-token'] }))).toEqual({ code: 'ERR_WEBHOOK_TOKEN_INVALID', status: 401 });
    expect(failure(() => verifyStaticBearer({}, { tokens: 'x' })).code).toBe('ERR_WEBHOOK_SIGNATURE_MISSING');
    expect(failure(() => verifyStaticBearer({ authorization: 'Basic abc' }, { tokens: 'x' })).code).toBe('ERR_WEBHOOK_SIGNATURE_MALFORMED');
  });
});

const STANDARD_SECRET = `whsec_${randomBytes(32).toString('base64')}`;

function standardHeaders(id: string, timestamp: Date, body: Buffer, secret = STANDARD_SECRET): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, timestamp, body.toString('utf8')),
  };
}

describe('Standard Webhooks signatures', () => {
  it('accepts signatures made by the standardwebhooks library and by node:crypto', async () => {
    const verify = standardWebhookVerifier({ secrets: [`whsec_${randomBytes(32).toString('base64')}`, STANDARD_SECRET] });
    const id = `msg_${randomUUID()}`;
    const delivery = await verify({ headers: standardHeaders(id, new Date(), BODY), body: BODY });
    expect(delivery.id).toBe(id);
    expect(delivery.json()).toMatchObject({ object: 'page' });

    const timestamp = Math.floor(Date.now() / 1000);
    const key = Buffer.from(STANDARD_SECRET.slice('whsec_'.length), 'base64');
    const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(BODY).digest('base64');
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1a,ignored v1,${Buffer.alloc(32).toString('base64')} v1,${mac}` };
    expect((await verify({ headers, body: BODY })).timestamp).toBe(timestamp);
    // The library accepts our independently built header too.
    expect(new Webhook(STANDARD_SECRET).verify(BODY.toString('utf8'), headers)).toMatchObject({ object: 'page' });
  });

  it('refuses bad signatures, stale and future timestamps, and missing headers', async () => {
    const verify = standardWebhookVerifier({ secrets: STANDARD_SECRET });
    const id = 'msg_1';
    const headers = standardHeaders(id, new Date(), BODY);
    expect(await failureOf(verify({ headers, body: Buffer.from('{}') }))).toEqual({ code: 'ERR_WEBHOOK_SIGNATURE_INVALID', status: 401 });
    expect((await failureOf(verify({ headers: standardHeaders(id, new Date(Date.now() - 301_000), BODY), body: BODY }))).code).toBe('ERR_WEBHOOK_TIMESTAMP_INVALID');
    expect((await failureOf(verify({ headers: standardHeaders(id, new Date(Date.now() + 301_000), BODY), body: BODY }))).code).toBe('ERR_WEBHOOK_TIMESTAMP_INVALID');
    expect((await failureOf(verify({ headers: { 'webhook-id': id }, body: BODY }))).code).toBe('ERR_WEBHOOK_SIGNATURE_MISSING');
    expect((await failureOf(verify({ headers: { ...headers, 'webhook-signature': 'v2,abc' }, body: BODY }))).code).toBe('ERR_WEBHOOK_SIGNATURE_MALFORMED');
    expect((await failureOf(verify({ headers: { ...headers, 'webhook-timestamp': 'soon' }, body: BODY }))).code).toBe('ERR_WEBHOOK_SIGNATURE_MALFORMED');
    expect(() => standardWebhookVerifier({ secrets: 'whsec_!!' })).toThrow(TypeError);
  });
});

/** Replay suite shared by every store. */
function replaySuite(store: () => ReplayStore): void {
  it('accepts a message id once and refuses the replay', async () => {
    const verify = standardWebhookVerifier({ secrets: STANDARD_SECRET, replayStore: store() });
    const id = `msg_${randomUUID()}`;
    const headers = standardHeaders(id, new Date(), BODY);
    expect((await verify({ headers, body: BODY })).id).toBe(id);
    expect(await failureOf(verify({ headers, body: BODY }))).toEqual({ code: 'ERR_WEBHOOK_REPLAYED', status: 409 });
    // A forged delivery reusing the id does not burn it: signature first, replay check after.
    const other = `msg_${randomUUID()}`;
    expect((await failureOf(verify({ headers: { ...standardHeaders(other, new Date(), BODY), 'webhook-signature': headers['webhook-signature'] as string }, body: BODY }))).code).toBe('ERR_WEBHOOK_SIGNATURE_INVALID');
    expect((await verify({ headers: standardHeaders(other, new Date(), BODY), body: BODY })).id).toBe(other);
  });

  it('lets one of many concurrent deliveries of the same id through', async () => {
    const verify = standardWebhookVerifier({ secrets: STANDARD_SECRET, replayStore: store() });
    const headers = standardHeaders(`msg_${randomUUID()}`, new Date(), BODY);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => verify({ headers, body: BODY })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
  });

  it('forgets ids once their ttl has passed', async () => {
    const replay = store();
    const id = `msg_${randomUUID()}`;
    expect(await replay.remember(id, 1_000)).toBe(true);
    expect(await replay.remember(id, 1_000)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await replay.remember(id, 1_000)).toBe(true);
  });
}

describe('replay protection [memory]', () => {
  replaySuite(() => memoryReplayStore());
});

describeEachDatabase('replay protection', (database) => {
  replaySuite(() => postgresReplayStore(database()));

  it('creates its table once even when several stores start together', async () => {
    const stores = Array.from({ length: 4 }, () => postgresReplayStore(database(), { table: 'latchkey_webhook_ids_concurrent' }));
    const results = await Promise.all(stores.map((store, index) => store.remember(`id-${index}`, 60_000)));
    expect(results).toEqual([true, true, true, true]);
    expect(() => postgresReplayStore(database(), { table: 'x; drop table users' })).toThrow(TypeError);
  });
});

describeWith(['REDIS_URL'], 'replay protection [redis]', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL as string, { lazyConnect: false, maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await redis.quit();
  });
  replaySuite(() => redisReplayStore(redis, { prefix: `latchkey:test:${randomUUID()}:` }));
});
