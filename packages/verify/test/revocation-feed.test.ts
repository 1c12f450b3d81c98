import { afterEach, describe, expect, it } from 'vitest';
import { authenticate, BearerError, createVerifier, type Claims, type RevocationEvent } from '../src/index.js';
import { EventStreamParser } from '../src/feed/event-stream.js';
import { RevocationIndex } from '../src/feed/revocation-index.js';
import {
  createRevocationFeed,
  fetchRevocations,
  inProcessRevocationSource,
  RevocationFeedClosedError,
  RevocationFeedStaleError,
  RevocationFeedUnauthorizedError,
  type RevocationFeed,
  type RevocationSink,
  type RevocationSource,
} from '../src/feed/index.js';
import { revocation, SERVICE_KEY, startFeedServer, type FeedServer } from './feed-server.js';
import { AUDIENCE, ISSUER, manualClock, mint, nowSeconds, signingKey } from './support.js';

const claims = (fields: Record<string, unknown>): Claims => ({ iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 3600, iat: nowSeconds() - 10, ...fields }) as Claims;

/** A hand-driven emitter, as `Revocations` is on the server. */
function emitter(stored: RevocationEvent[] = []) {
  const listeners = new Set<(event: RevocationEvent) => void>();
  return {
    stored,
    subscribe(listener: (event: RevocationEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async since(after: string | null, limit = 1000) {
      return stored.filter((event) => after === null || BigInt(event.id) > BigInt(after)).slice(0, limit);
    },
    emit(event: unknown) {
      for (const listener of listeners) listener(event as RevocationEvent);
    },
    get listeners() {
      return listeners.size;
    },
  };
}

/** A source driven by the test. */
function manualSource() {
  let sink: RevocationSink | undefined;
  let closed = false;
  const source: RevocationSource = {
    start(target) {
      sink = target;
    },
    async close() {
      closed = true;
    },
  };
  return {
    source,
    get sink() {
      if (!sink) throw new Error('not started');
      return sink;
    },
    get closed() {
      return closed;
    },
  };
}

describe('revocation index', () => {
  it('refuses by session, user, organization and client, and only tokens issued up to the event', () => {
    const index = new RevocationIndex();
    const now = nowSeconds();
    index.add(revocation(1, { session_ids: ['s1', 's2'], user_id: 'u1' }), now);
    index.add(revocation(2, { user_id: 'u2', issued_before: now - 100 }), now);
    index.add(revocation(3, { organization_id: 'o1', user_id: 'u3', kind: 'membership_removed' }), now);
    index.add(revocation(4, { client_id: 'c1', kind: 'oauth_client_deleted' }), now);
    expect(index.size).toBe(4);
    expect(index.matches(claims({ sub: 'u1', session_id: 's2' }))).toBe(true);
    expect(index.matches(claims({ sub: 'other', session_id: 's2' }))).toBe(false);
    expect(index.matches(claims({ sub: 'u1', session_id: 's9' }))).toBe(false);
    expect(index.matches(claims({ sub: 'u2', iat: now - 200 }))).toBe(true);
    expect(index.matches(claims({ sub: 'u2', iat: now - 50 }))).toBe(false);
    expect(index.matches(claims({ sub: 'u3', app_metadata: { organization_id: 'o1' } }))).toBe(true);
    expect(index.matches(claims({ sub: 'u3', app_metadata: { organization_id: 'o2' } }))).toBe(false);
    expect(index.matches(claims({ sub: 'u4', app_metadata: { organization_id: 'o1' } }))).toBe(false);
    expect(index.matches(claims({ sub: 'svc', client_id: 'c1' }))).toBe(true);
    expect(index.matches(claims({ sub: 'svc', client_id: 'c2' }))).toBe(false);
  });

  it('answers a token of a user without events from one lookup, yet never skips events that name no user', () => {
    const index = new RevocationIndex();
    const now = nowSeconds();
    index.add(revocation(1, { user_id: 'u1', session_ids: ['s1'], expires_at: now + 10 }), now);
    expect(index.matches(claims({ sub: 'u2', session_id: 's1' }))).toBe(false);
    index.add(revocation(2, { organization_id: 'o9', kind: 'organization_deleted', expires_at: now + 100 }), now);
    expect(index.matches(claims({ sub: 'nobody', app_metadata: { organization_id: 'o9' } }))).toBe(true);
    expect(index.prune(now + 50)).toBe(1);
    expect(index.matches(claims({ sub: 'nobody', app_metadata: { organization_id: 'o9' } }))).toBe(true);
    expect(index.matches(claims({ sub: 'u1', session_id: 's1' }))).toBe(false);
    expect(index.prune(now + 500)).toBe(1);
    expect(index.matches(claims({ sub: 'nobody', app_metadata: { organization_id: 'o9' } }))).toBe(false);
  });

  it('keeps only unexpired events, once each', () => {
    const index = new RevocationIndex();
    const now = nowSeconds();
    expect(index.add(revocation(1, { user_id: 'u1', expires_at: now - 1 }), now)).toBe(false);
    expect(index.add(revocation(2, { user_id: 'u1', expires_at: now + 10 }), now)).toBe(true);
    expect(index.add(revocation(2, { user_id: 'u1', expires_at: now + 10 }), now)).toBe(false);
    expect(index.add(revocation(3, { session_ids: ['s1'], expires_at: now + 100 }), now)).toBe(true);
    expect(index.prune(now + 20)).toBe(1);
    expect(index.size).toBe(1);
    expect(index.matches(claims({ sub: 'u1' }))).toBe(false);
    expect(index.matches(claims({ sub: 'u1', session_id: 's1' }))).toBe(true);
    expect(index.prune(now + 200)).toBe(1);
    expect(index.matches(claims({ sub: 'u1', session_id: 's1' }))).toBe(false);
  });
});

describe('event-stream parser', () => {
  it('dispatches blocks across chunk boundaries and line endings, dropping comments', () => {
    const parser = new EventStreamParser();
    const text = ': hello\r\nid: 7\r\nevent: revocation\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: heartbeat\n\nevent: ready\rdata: {}\r\r';
    const messages = [];
    for (const char of text) messages.push(...parser.push(char));
    expect(messages).toEqual([
      { event: 'revocation', data: '{"a":\n1}', id: '7' },
      { event: 'ready', data: '{}', id: undefined },
    ]);
    expect(parser.push('data:x\n\n')).toEqual([{ event: 'message', data: 'x', id: undefined }]);
  });
});

describe('createRevocationFeed', () => {
  const feeds: RevocationFeed[] = [];
  afterEach(async () => {
    for (const feed of feeds.splice(0)) await feed.close();
  });
  const track = (feed: RevocationFeed) => {
    feeds.push(feed);
    return feed;
  };

  it('validates options eagerly', () => {
    expect(() => createRevocationFeed({})).toThrow(TypeError);
    expect(() => createRevocationFeed({ url: 'ftp://x', serviceKey: 'k' })).toThrow(TypeError);
    expect(() => createRevocationFeed({ url: 'http://x', serviceKey: '' })).toThrow(TypeError);
    expect(() => createRevocationFeed({ url: 'http://x', serviceKey: 'k', maxStaleness: -1 })).toThrow(TypeError);
    expect(() => createRevocationFeed({ url: 'http://x', serviceKey: 'k', backoff: { initialDelay: 0 } })).toThrow(TypeError);
    expect(() => createRevocationFeed({ url: 'http://x', source: manualSource().source })).toThrow(TypeError);
  });

  it('follows an in-process emitter: stored events first, then live ones; the verifier refuses their tokens', async () => {
    const key = await signingKey('ES256', 'k1');
    const source = emitter([revocation(1, { session_ids: ['old-session'] })]);
    const feed = track(createRevocationFeed({ source: inProcessRevocationSource(source) }));
    const verifier = createVerifier({ keys: [key.publicJwk], issuer: ISSUER, audience: AUDIENCE, cache: true, revocation: feed.check });
    await feed.ready;
    expect(feed.state).toMatchObject({ connected: true, lastEventId: '1', events: 1, lastError: null });

    const old = await mint(key, { session_id: 'old-session', iat: nowSeconds() - 5 });
    await expect(verifier.verify(old)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });

    const token = await mint(key, { sub: 'user-9', session_id: 'session-9', iat: nowSeconds() - 5 });
    expect((await verifier.verify(token)).sub).toBe('user-9'); // now cached
    source.emit(revocation(2, { user_id: 'user-9', session_ids: ['session-9'] }));
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
    expect(() => verifier.verifySync(token)).toThrow(expect.objectContaining({ code: 'ERR_TOKEN_REVOKED' }));
    const answer = await authenticate({ authorization: `Bearer ${token}` }, { verifier }).catch((error: unknown) => error);
    expect(answer).toBeInstanceOf(BearerError);
    expect((answer as BearerError).status).toBe(401);

    source.emit({ id: '3', kind: 'nonsense' });
    source.emit('not an event');
    expect(feed.state).toMatchObject({ lastEventId: '2', events: 2, malformed: 2 });
    await feed.close();
    expect(source.listeners).toBe(0);
  });

  it('an in-process catch-up retried after a failed read still reads the stored events older than a live one', async () => {
    const source = emitter([revocation(1, { session_ids: ['stored-session'] }), revocation(2, { session_ids: ['other-session'] })]);
    const since = source.since.bind(source);
    let reads = 0;
    source.since = async (after, limit) => {
      reads += 1;
      if (reads === 1) {
        // The first read fails after a newer event arrived live.
        source.emit(revocation(3, { session_ids: ['live-session'] }));
        throw new Error('database unavailable');
      }
      return since(after, limit);
    };
    const feed = track(createRevocationFeed({ source: inProcessRevocationSource(source) }));
    await feed.ready;
    expect(reads).toBe(2);
    expect(feed.state).toMatchObject({ connected: true, lastEventId: '3', events: 3 });
    expect(feed.check(claims({ session_id: 'stored-session' }))).toBe(true);
  });

  it('while down: keeps refusing known events and accepting others; past maxStaleness fails closed with 503', async () => {
    const clock = manualClock();
    const manual = manualSource();
    const feed = track(createRevocationFeed({ source: manual.source, maxStaleness: 5000, now: clock.now }));
    const revoked = claims({ sub: 'u1', session_id: 's1' });
    const other = claims({ sub: 'u2', session_id: 's2' });
    // Before the first catch-up the feed is stale from its creation.
    expect(feed.check(other)).toBe(false);
    clock.advance(5001);
    expect(() => feed.check(other)).toThrow(RevocationFeedStaleError);

    manual.sink.event(revocation(10, { session_ids: ['s1'] }));
    manual.sink.live();
    await feed.ready;
    expect(feed.check(revoked)).toBe(true);
    expect(feed.check(other)).toBe(false);

    manual.sink.down(new (await import('../src/index.js')).RevocationFeedUnavailableError('gone'));
    expect(feed.state).toMatchObject({ connected: false, lastError: { code: 'ERR_REVOCATION_FEED_UNAVAILABLE' }, staleSince: clock.now() });
    clock.advance(4000);
    expect(feed.check(revoked)).toBe(true);
    expect(feed.check(other)).toBe(false);
    clock.advance(2000);
    expect(feed.check(revoked)).toBe(true);
    let thrown: unknown;
    try {
      feed.check(other);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RevocationFeedStaleError);
    expect(thrown).toMatchObject({ code: 'ERR_REVOCATION_FEED_STALE', temporary: true, retryAfter: 5 });

    // Through the adapters' path: 503 with Retry-After.
    const key = await signingKey('ES256', 'k1');
    const verifier = createVerifier({ keys: [key.publicJwk], issuer: ISSUER, audience: AUDIENCE, revocation: feed.check, now: clock.now });
    const token = await mint(key, { sub: 'u2', iat: Math.floor(clock.now() / 1000) - 1, exp: Math.floor(clock.now() / 1000) + 600 });
    const answer = (await authenticate({ authorization: `Bearer ${token}` }, { verifier }).catch((error: unknown) => error)) as BearerError;
    expect(answer).toBeInstanceOf(BearerError);
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    expect(answer.body).toEqual({ error: 'temporarily_unavailable', error_description: 'revocation feed unavailable', code: 'ERR_REVOCATION_FEED_STALE' });

    manual.sink.live();
    expect(feed.check(other)).toBe(false);
    expect(feed.state.connected).toBe(true);
  });

  it('without maxStaleness never fails closed; close() before the first catch-up rejects ready', async () => {
    const clock = manualClock();
    const manual = manualSource();
    const feed = createRevocationFeed({ source: manual.source, now: clock.now });
    clock.advance(86_400_000);
    expect(feed.check(claims({ sub: 'u' }))).toBe(false);
    await feed.close();
    await expect(feed.ready).rejects.toBeInstanceOf(RevocationFeedClosedError);
    expect(manual.closed).toBe(true);
    expect(feed.state.closed).toBe(true);
  });
});

describe('event-stream source against a feed server', () => {
  let server: FeedServer;
  const feeds: RevocationFeed[] = [];
  afterEach(async () => {
    for (const feed of feeds.splice(0)) await feed.close();
    await server?.close();
  });
  const follow = (options: Partial<Parameters<typeof createRevocationFeed>[0]> = {}) => {
    const feed = createRevocationFeed({ url: server.url, serviceKey: SERVICE_KEY, backoff: { initialDelay: 20, maxDelay: 100 }, ...options });
    feeds.push(feed);
    return feed;
  };

  it('catches up, follows live events, ignores malformed ones, and resumes after a dropped connection without missing one', async () => {
    server = await startFeedServer();
    server.emit(revocation(1, { session_ids: ['a'] }));
    server.emit(revocation(2, { session_ids: ['b'] }));
    const feed = follow();
    await feed.ready;
    expect(feed.state).toMatchObject({ connected: true, lastEventId: '2', events: 2 });
    expect(server.resumes).toEqual([null]);

    server.sendRaw('{not json');
    server.sendRaw(JSON.stringify({ ...revocation(99), user_id: null }));
    server.sendRaw(JSON.stringify({ ...revocation(98, { user_id: 'x' }), kind: 'unknown' }));
    server.emit(revocation(3, { session_ids: ['c'] }));
    await expect.poll(() => feed.state.lastEventId).toBe('3');
    expect(feed.state.malformed).toBe(3);
    expect(feed.check(claims({ sub: 'u', session_id: 'c' }))).toBe(true);

    // The connection drops and reconnecting fails for a while; events meanwhile come with the
    // catch-up of the next connection.
    server.mode = 500;
    server.drop();
    await expect.poll(() => feed.state.lastError?.description).toBe('revocation feed answered HTTP 500');
    expect(feed.state.connected).toBe(false);
    server.emit(revocation(4, { session_ids: ['d'] }));
    server.mode = 200;
    await expect.poll(() => feed.state.connected, { timeout: 5000 }).toBe(true);
    expect(server.resumes).toEqual([null, '3']);
    expect(feed.check(claims({ sub: 'u', session_id: 'd' }))).toBe(true);
    expect(feed.state).toMatchObject({ lastEventId: '4', events: 4 });
  });

  it('reports a refused service key: ready rejects, state names the error, and the feed keeps trying', async () => {
    server = await startFeedServer();
    const feed = follow({ serviceKey: 'wrong-key' });
    const error = await feed.ready.catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(RevocationFeedUnauthorizedError);
    expect(error).toMatchObject({ code: 'ERR_REVOCATION_FEED_UNAUTHORIZED', status: 401 });
    expect(feed.state).toMatchObject({ connected: false, lastError: { code: 'ERR_REVOCATION_FEED_UNAUTHORIZED' } });
  });

  it('reconnects after server errors and after a silent connection', async () => {
    server = await startFeedServer();
    server.mode = 500;
    const feed = follow({ idleTimeout: 200 });
    await expect.poll(() => feed.state.lastError?.code).toBe('ERR_REVOCATION_FEED_UNAVAILABLE');
    server.mode = 'silent';
    await expect.poll(() => feed.state.lastError?.description, { timeout: 5000 }).toBe('revocation feed silent for 200 ms');
    server.mode = 200;
    await feed.ready;
    expect(feed.state.connected).toBe(true);
  });

  it('fetchRevocations pages through the JSON form', async () => {
    server = await startFeedServer();
    for (let id = 1; id <= 7; id += 1) server.emit(revocation(id, { user_id: `u${id}` }));
    const all = await fetchRevocations({ url: server.url, serviceKey: SERVICE_KEY, pageSize: 3 });
    expect(all.events.map((event) => event.id)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    const later = await fetchRevocations({ url: server.url, serviceKey: SERVICE_KEY, after: '5' });
    expect(later.events.map((event) => event.id)).toEqual(['6', '7']);
    await expect(fetchRevocations({ url: server.url, serviceKey: 'nope' })).rejects.toBeInstanceOf(RevocationFeedUnauthorizedError);
  });
});
