import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRevocationFeed, redisRevocationSource, type RevocationFeed } from '@latchkey/verify/revocations';
import { createTestDatabase, describeEachDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';
import { notesApi } from '@latchkey/example-notes-api';
import { buildApp, createLogger, loadServerConfig, startServer, type AppContext, type IdentityExports, type RevocationEvent, type Revocations, type RunningServer } from '../../src/index.js';
import { registerRevocationFeedRoute } from '../../src/revocation/feed-route.js';
import { email, supabaseClient, TEST_ENV } from '../identity/support.js';

/** One server-sent message as read off the wire. */
interface WireMessage {
  id?: string;
  event?: string;
  data?: string;
}

/** Opens the event stream with `fetch` and reads messages off it, as a client without our SDK would. */
async function openStream(url: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  // One read in flight at a time: a chunk is never handed to a read whose caller gave up waiting.
  let pendingRead: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  const comments: string[] = [];
  /** Reads until `until` holds for the messages read so far (or the stream ends). */
  async function read(until: (messages: WireMessage[]) => boolean, timeoutMs = 5000): Promise<WireMessage[]> {
    const messages: WireMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (!until(messages)) {
      let split = buffer.indexOf('\n\n');
      while (split === -1) {
        if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(messages)}`);
        pendingRead ??= reader.read();
        const chunk = await Promise.race([pendingRead, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now())))]);
        if (chunk === 'timeout') continue;
        pendingRead = undefined;
        if (chunk.done) {
          ended = true;
          return messages;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        split = buffer.indexOf('\n\n');
      }
      const block = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      const message: WireMessage = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line);
        else {
          const [field, ...rest] = line.split(': ');
          (message as Record<string, string>)[field!] = rest.join(': ');
        }
      }
      if (Object.keys(message).length > 0) messages.push(message);
    }
    return messages;
  }
  return {
    response,
    read,
    comments,
    get ended() {
      return ended;
    },
    close: () => controller.abort(),
  };
}

const isReady = (messages: WireMessage[]) => messages.at(-1)?.event === 'ready';

describeEachDatabase('revocation feed endpoint', (database) => {
  let server: RunningServer;
  let identity: IdentityExports;
  let revocations: Revocations;
  let feedUrl: string;
  let serviceKey: string;
  const feeds: RevocationFeed[] = [];

  beforeAll(async () => {
    server = await startServer({
      env: TEST_ENV,
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      database: database(),
      extensions: [notesApi()],
      extend: (_app, context: AppContext) => {
        revocations = context.revocations;
      },
    });
    identity = server.services.identity!;
    feedUrl = `${server.url}/auth/v1/revocations`;
    serviceKey = identity.apiKeys.serviceRoleKey;
  });
  afterAll(async () => {
    for (const feed of feeds) await feed.close();
    await server?.close();
  });

  const emit = (user = randomUUID()) => revocations.emit({ kind: 'logout', userId: user, sessionIds: [randomUUID()] });

  it('requires the service_role key, as Bearer or apikey, and answers in GoTrue error format', async () => {
    const missing = await fetch(`${feedUrl}?format=json`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ code: 401, error_code: 'no_authorization' });
    for (const headers of [{ authorization: `Bearer ${identity.apiKeys.anonKey}` }, { apikey: identity.apiKeys.anonKey }, { authorization: 'Bearer nope', apikey: serviceKey }]) {
      const refused = await fetch(`${feedUrl}?format=json`, { headers });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('x-sb-error-code')).toBe('not_admin');
    }
    const stream = await fetch(feedUrl, { headers: { accept: 'text/event-stream' } });
    expect(stream.status).toBe(401);
    expect(stream.headers.get('content-type')).toMatch(/application\/json/);
    expect((await fetch(`${feedUrl}?format=json`, { headers: { apikey: serviceKey } })).status).toBe(200);
    const modern = await fetch(`${feedUrl}?format=json&after=12x`, { headers: { authorization: `Bearer ${serviceKey}`, 'x-supabase-api-version': '2024-01-01' } });
    expect(modern.status).toBe(400);
    expect(await modern.json()).toMatchObject({ code: 'validation_failed' });
    for (const query of ['format=xml', 'format=json&limit=0', 'format=json&limit=1001']) {
      expect((await fetch(`${feedUrl}?${query}`, { headers: { authorization: `Bearer ${serviceKey}` } })).status).toBe(400);
    }
    const badHeader = await fetch(feedUrl, { headers: { authorization: `Bearer ${serviceKey}`, 'last-event-id': '-1' } });
    expect(badHeader.status).toBe(400);
  });

  it('lists stored events as JSON after an id, page by page', async () => {
    const first = await emit();
    const second = await emit();
    const third = await emit();
    const get = async (query: string) => (await fetch(`${feedUrl}?format=json&${query}`, { headers: { authorization: `Bearer ${serviceKey}` } })).json() as Promise<RevocationEvent[]>;
    expect(await get(`after=${first.id}`)).toEqual([second, third]);
    expect(await get(`after=${first.id}&limit=1`)).toEqual([second]);
    expect(await get(`after=${third.id}`)).toEqual([]);
    expect((await get('')).map((event) => event.id)).toEqual(expect.arrayContaining([first.id, second.id, third.id]));
  });

  it('streams stored events, then ready, then live ones; resumes after Last-Event-ID or ?after= with none missed', async () => {
    const before = await emit();
    const stream = await openStream(feedUrl, { authorization: `Bearer ${serviceKey}` });
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.response.headers.get('cache-control')).toBe('no-store');
    const backlog = await stream.read(isReady);
    const stored = backlog.slice(0, -1);
    expect(stored.every((message) => message.event === 'revocation' && message.id === (JSON.parse(message.data!) as RevocationEvent).id)).toBe(true);
    expect(stored.map((message) => message.id)).toContain(before.id);

    const live = await emit();
    const [message] = await stream.read((messages) => messages.length === 1);
    expect(message).toEqual({ id: live.id, event: 'revocation', data: JSON.stringify(live) });

    // Connection dropped; events happen meanwhile; the client resumes after the last id it saw.
    stream.close();
    const missed = [await emit(), await emit()];
    const resumed = await openStream(feedUrl, { authorization: `Bearer ${serviceKey}`, 'last-event-id': live.id });
    const caughtUp = await resumed.read(isReady);
    expect(caughtUp.slice(0, -1).map((entry) => entry.id)).toEqual(missed.map((event) => event.id));
    resumed.close();

    const byQuery = await openStream(`${feedUrl}?after=${missed[0]!.id}`, { apikey: serviceKey });
    expect((await byQuery.read(isReady)).slice(0, -1).map((entry) => entry.id)).toEqual([missed[1]!.id]);
    byQuery.close();
  });

  it('switches from stored to live events with no gap and no duplicate while events keep coming', async () => {
    const start = await emit();
    const emitting = Array.from({ length: 30 }, () => emit());
    const stream = await openStream(`${feedUrl}?after=${start.id}`, { authorization: `Bearer ${serviceKey}` });
    const expected = (await Promise.all(emitting)).map((event) => event.id);
    const seen = await stream.read((messages) => messages.filter((entry) => entry.event === 'revocation').length >= expected.length);
    const ids = seen.filter((entry) => entry.event === 'revocation').map((entry) => entry.id);
    expect([...ids].sort()).toEqual([...expected].sort());
    expect(new Set(ids).size).toBe(ids.length);
    // Nothing else arrives for these ids.
    const extra = await emit();
    const next = await stream.read((messages) => messages.some((entry) => entry.event === 'revocation'));
    expect(next.filter((entry) => entry.event === 'revocation').map((entry) => entry.id)).toEqual([extra.id]);
    stream.close();
  });

  it('the feed client follows the real endpoint and refuses ended sessions within a second', async () => {
    const feed = createRevocationFeed({ url: feedUrl, serviceKey });
    feeds.push(feed);
    await feed.ready;
    expect(feed.state.connected).toBe(true);
    const user = randomUUID();
    const session = randomUUID();
    const token = { sub: user, session_id: session, iat: Math.floor(Date.now() / 1000) - 1 } as never;
    expect(feed.check(token)).toBe(false);
    const started = Date.now();
    const event = await revocations.emit({ kind: 'session_revoked', userId: user, sessionIds: [session] });
    await expect.poll(() => feed.check(token), { timeout: 1000, interval: 5 }).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(feed.state.lastEventId).toBe(event.id);

    const wrong = createRevocationFeed({ url: feedUrl, serviceKey: identity.apiKeys.anonKey });
    feeds.push(wrong);
    await expect(wrong.ready).rejects.toMatchObject({ code: 'ERR_REVOCATION_FEED_UNAUTHORIZED', status: 403 });
  });

  /** Signs a new user in with supabase-js; the example API answers their token with 200. */
  async function signedIn() {
    const client = supabaseClient(server.url, identity.apiKeys.anonKey);
    const { data, error } = await client.auth.signUp({ email: email('feed'), password: 'correct horse battery' });
    expect(error).toBeNull();
    const token = data.session!.access_token;
    const notes = () => fetch(`${server.url}/api/v1/notes`, { headers: { authorization: `Bearer ${token}` } });
    expect((await notes()).status).toBe(200);
    return { client, notes, userId: String(decodeJwt(token).sub) };
  }

  /** Runs `end` and asserts that the example API refuses the token within a second of it returning. */
  async function refusedWithinASecond(notes: () => Promise<Response>, end: () => Promise<unknown>): Promise<void> {
    await end();
    const ended = Date.now();
    await expect.poll(async () => (await notes()).status, { timeout: 1000, interval: 10 }).toBe(401);
    expect(Date.now() - ended).toBeLessThan(1000);
    expect(await (await notes()).json()).toEqual({ error: 'invalid_token', error_description: 'token revoked', code: 'ERR_TOKEN_REVOKED' });
  }

  it('the example API refuses a token within a second of its session\'s logout (supabase-js signOut)', async () => {
    const { client, notes } = await signedIn();
    await refusedWithinASecond(notes, async () => expect((await client.auth.signOut()).error).toBeNull());
  });

  it('the example API refuses a token within a second of its user\'s ban', async () => {
    const { notes, userId } = await signedIn();
    const admin = supabaseClient(server.url, serviceKey);
    await refusedWithinASecond(notes, async () => expect((await admin.auth.admin.updateUserById(userId, { ban_duration: '24h' })).error).toBeNull());
  });

  it('the example API refuses a token within a second of its user\'s deletion', async () => {
    const { notes, userId } = await signedIn();
    const admin = supabaseClient(server.url, serviceKey);
    await refusedWithinASecond(notes, async () => expect((await admin.auth.admin.deleteUser(userId)).error).toBeNull());
  });

  it('ends open streams when the server shuts down', async () => {
    const stream = await openStream(feedUrl, { authorization: `Bearer ${serviceKey}` });
    await stream.read(isReady);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(3000);
    await stream.read(() => false, 2000);
    expect(stream.ended).toBe(true);
  });
});

it('sends a heartbeat comment at the configured interval and lets go of the stream when the client leaves', async () => {
  const listeners = new Set<(event: RevocationEvent) => void>();
  const revocations = {
    subscribe: (listener: (event: RevocationEvent) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    since: async () => [],
  } as unknown as Revocations;
  const app = buildApp({ db: {} as never, logger: createLogger('silent') });
  await app.register(async (scope) => registerRevocationFeedRoute(scope, { revocations, serviceRoleKey: () => 'key', heartbeatInterval: 50 }), { prefix: '/auth/v1' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/auth/v1/revocations`;
  try {
    const leaving = await openStream(url, { authorization: 'Bearer key' });
    await leaving.read(isReady);
    expect(listeners.size).toBe(1);
    leaving.close();
    await expect.poll(() => listeners.size).toBe(0);

    const stream = await openStream(url, { authorization: 'Bearer key' });
    await stream.read(isReady);
    await stream.read(() => stream.comments.length >= 2, 2000);
    expect(stream.comments.filter((line) => line === ': heartbeat').length).toBeGreaterThanOrEqual(2);
  } finally {
    await app.close();
  }
  expect(listeners.size).toBe(0);
});

describeWith(['REDIS_URL'], 'revocation feed through Redis', () => {
  it('a Redis source on the identity service channel sees its events, and catches up through the endpoint', async () => {
    const database = await createTestDatabase('pglite');
    const prefix = `test-${randomBytes(6).toString('hex')}`;
    let revocations: Revocations | undefined;
    const server = await startServer({
      env: { ...TEST_ENV, REDIS_URL: process.env.REDIS_URL!, LATCHKEY_REDIS_PREFIX: prefix },
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent', REDIS_URL: process.env.REDIS_URL!, LATCHKEY_REDIS_PREFIX: prefix }),
      database: database.db,
      extend: (_app, context) => {
        revocations = context.revocations;
      },
    });
    const subscriber = new Redis(process.env.REDIS_URL!);
    const identity = server.services.identity!;
    const stored = await revocations!.emit({ kind: 'user_banned', userId: randomUUID() });
    const feed = createRevocationFeed({
      source: redisRevocationSource(subscriber, { channel: `${prefix}.revocations`, catchUp: { url: `${server.url}/auth/v1/revocations`, serviceKey: identity.apiKeys.serviceRoleKey } }),
    });
    try {
      await feed.ready;
      expect(feed.check({ sub: stored.user_id, iat: stored.issued_before - 1 } as never)).toBe(true);
      const live = await revocations!.emit({ kind: 'logout', userId: randomUUID(), sessionIds: [randomUUID()] });
      await expect.poll(() => feed.state.lastEventId, { timeout: 1000, interval: 5 }).toBe(live.id);
      expect(feed.check({ sub: live.user_id, session_id: live.session_ids![0], iat: live.issued_before } as never)).toBe(true);
    } finally {
      await feed.close();
      subscriber.disconnect();
      await server.close();
      await database.dispose();
    }
  });
});
