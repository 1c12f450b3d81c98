import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { describeWith } from '../../../test-support/integration.js';
import { createRevocationFeed, redisRevocationSource, type RevocationFeed } from '../src/feed/index.js';
import { revocation, SERVICE_KEY, startFeedServer, type FeedServer } from './feed-server.js';
import type { Claims } from '../src/index.js';

const token = (session: string): Claims => ({ sub: 'u', session_id: session, iat: Math.floor(Date.now() / 1000) - 5 }) as Claims;

describeWith(['REDIS_URL'], 'Redis revocation source', () => {
  const opened: Array<{ close(): unknown }> = [];
  let server: FeedServer | undefined;
  afterEach(async () => {
    for (const item of opened.splice(0).reverse()) await item.close();
    await server?.close();
    server = undefined;
  });
  const redis = () => {
    const client = new Redis(process.env.REDIS_URL as string);
    opened.push({ close: () => client.disconnect() });
    return client;
  };
  const track = (feed: RevocationFeed) => {
    opened.push(feed);
    return feed;
  };

  it('takes events published as arrays or one by one, ignores malformed messages and other channels', async () => {
    const channel = `test.${randomBytes(6).toString('hex')}.revocations`;
    const publisher = redis();
    const feed = track(createRevocationFeed({ source: redisRevocationSource(redis(), { channel }) }));
    await feed.ready;
    expect(feed.state.connected).toBe(true);
    await publisher.publish(channel, JSON.stringify([revocation(5, { session_ids: ['a'] }), revocation(6, { session_ids: ['b'] })]));
    await publisher.publish(channel, JSON.stringify(revocation(7, { session_ids: ['c'] })));
    await publisher.publish(channel, '{broken');
    await publisher.publish(channel, JSON.stringify([{ id: '8', kind: 'logout' }]));
    await publisher.publish(`${channel}.other`, JSON.stringify([revocation(9, { session_ids: ['d'] })]));
    await expect.poll(() => feed.state.malformed).toBe(2);
    expect(feed.state).toMatchObject({ lastEventId: '7', events: 3 });
    expect(['a', 'b', 'c', 'd'].map((session) => feed.check(token(session)))).toEqual([true, true, true, false]);
  });

  it('catches up through the feed endpoint at start and after Redis reconnects', async () => {
    server = await startFeedServer();
    const channel = `test.${randomBytes(6).toString('hex')}.revocations`;
    server.emit(revocation(1, { session_ids: ['before-start'] }));
    const publisher = redis();
    const subscriber = redis();
    const feed = track(createRevocationFeed({ source: redisRevocationSource(subscriber, { channel, catchUp: { url: server.url, serviceKey: SERVICE_KEY } }) }));
    await feed.ready;
    expect(feed.check(token('before-start'))).toBe(true);

    await publisher.publish(channel, JSON.stringify([revocation(2, { session_ids: ['live'] })]));
    await expect.poll(() => feed.check(token('live'))).toBe(true);

    // The connection drops; an event is stored (its message never reaches this process): only the
    // catch-up after resubscribing can bring it.
    subscriber.disconnect();
    await expect.poll(() => feed.state.connected).toBe(false);
    server.emit(revocation(3, { session_ids: ['while-down'] }));
    await subscriber.connect();
    await expect.poll(() => feed.state.connected, { timeout: 5000 }).toBe(true);
    expect(feed.check(token('while-down'))).toBe(true);
    expect(feed.state.lastEventId).toBe('3');
  });

  it('a catch-up retried after a failed read still reads the stored events older than a live one', async () => {
    server = await startFeedServer();
    const channel = `test.${randomBytes(6).toString('hex')}.revocations`;
    server.emit(revocation(1, { session_ids: ['stored'] }));
    server.mode = 500;
    const publisher = redis();
    const feed = track(createRevocationFeed({ source: redisRevocationSource(redis(), { channel, catchUp: { url: server.url, serviceKey: SERVICE_KEY } }) }));
    await expect.poll(() => feed.state.lastError?.code).toBe('ERR_REVOCATION_FEED_UNAVAILABLE');
    await publisher.publish(channel, JSON.stringify([revocation(2, { session_ids: ['live'] })]));
    await expect.poll(() => feed.check(token('live'))).toBe(true);
    server.mode = 200;
    await feed.ready;
    expect(feed.check(token('stored'))).toBe(true);
  });
});
