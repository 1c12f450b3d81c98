import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { createLogger, createRevocations, type Database, type RevocationEvent, type Revocations, type RevocationsOptions } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { describeWith } from '../../../../test-support/integration.js';

const logger = createLogger('silent');

/** Instances opened by a test, closed after it. */
const open: Revocations[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((revocations) => revocations.close()));
});

async function build(db: Database, options: Partial<RevocationsOptions> = {}): Promise<Revocations> {
  const revocations = await createRevocations({ db, logger, tokenLifetime: 3600, ...options });
  open.push(revocations);
  return revocations;
}

function collect(revocations: Revocations): RevocationEvent[] {
  const events: RevocationEvent[] = [];
  revocations.subscribe((event) => events.push(event));
  return events;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachDatabase('revocation events', (database) => {
  it('stores the selectors and times of an event and reads them back in id order', async () => {
    const now = 1_900_000_000_500;
    const revocations = await build(database(), { now: () => now, expiryMargin: 30 });
    const user = randomUUID();
    const sessions = [randomUUID(), randomUUID()];
    const organization = randomUUID();
    const first = await database().transaction((tx) => revocations.record(tx, { kind: 'logout', userId: user, sessionIds: sessions }));
    const second = await database().transaction((tx) => revocations.record(tx, { kind: 'membership_removed', userId: user, organizationId: organization }));
    const third = await database().transaction((tx) => revocations.record(tx, { kind: 'oauth_client_deleted', clientId: 'reports' }));
    expect(first).toEqual({
      id: expect.stringMatching(/^[0-9]+$/),
      kind: 'logout',
      user_id: user,
      session_ids: sessions,
      organization_id: null,
      client_id: null,
      // The moment of the change, rounded up to the second; then the token lifetime and the margin.
      issued_before: 1_900_000_001,
      expires_at: 1_900_000_001 + 3600 + 30,
    });
    expect(BigInt(second.id)).toBeGreaterThan(BigInt(first.id));
    expect(BigInt(third.id)).toBeGreaterThan(BigInt(second.id));

    const all = await revocations.since(null);
    const mine = all.filter((event) => [first.id, second.id, third.id].includes(event.id));
    expect(mine).toEqual([first, second, third]);
    expect(await revocations.since(first.id)).toEqual(expect.arrayContaining([second, third]));
    expect((await revocations.since(first.id)).map((event) => event.id)).not.toContain(first.id);
    expect(await revocations.since(first.id, 1)).toEqual([second]);
    expect(await revocations.since(third.id)).toEqual([]);
  });

  it('leaves no event behind when the transaction that records it rolls back', async () => {
    const revocations = await build(database());
    const user = randomUUID();
    await expect(
      database().transaction(async (tx) => {
        await revocations.record(tx, { kind: 'user_banned', userId: user });
        throw new Error('change failed');
      }),
    ).rejects.toThrow('change failed');
    expect((await revocations.since(null)).filter((event) => event.user_id === user)).toEqual([]);
  });

  it('hides expired events from since and prunes them', async () => {
    const past = await build(database(), { now: () => Date.now() - 2 * 3600 * 1000 });
    const current = await build(database());
    const user = randomUUID();
    const old = await past.emit({ kind: 'user_deleted', userId: user });
    const fresh = await current.emit({ kind: 'user_banned', userId: user });
    expect(old.expires_at).toBeLessThan(Date.now() / 1000);
    const visible = (await current.since(null)).filter((event) => event.user_id === user);
    expect(visible).toEqual([fresh]);
    await current.close();
    const { rows: before } = await database().query<{ n: number }>('select count(*)::int as n from auth.revocation_events where id = $1', [old.id]);
    expect(before[0]!.n).toBe(1);
    const pruner = await build(database(), { pruneInterval: 50 });
    await expect
      .poll(async () => (await database().query<{ n: number }>('select count(*)::int as n from auth.revocation_events where id = $1', [old.id])).rows[0]!.n)
      .toBe(0);
    expect((await pruner.since(null)).map((event) => event.id)).toContain(fresh.id);
  });

  it('gives each listener every event once, however often it arrives', async () => {
    const revocations = await build(database(), { pollInterval: 50 });
    const events = collect(revocations);
    const other = collect(revocations);
    const event = await revocations.emit({ kind: 'logout', sessionIds: [randomUUID()] });
    await revocations.announce(event, event);
    await revocations.announce(event);
    await sleep(300); // several catch-up reads of the table have run
    expect(events).toEqual([event]);
    expect(other).toEqual([event]);
  });

  it('stops calling a listener once it unsubscribes, and keeps calling the others when one throws', async () => {
    const revocations = await build(database());
    const seen: string[] = [];
    const unsubscribe = revocations.subscribe((event) => seen.push(`a${event.id}`));
    revocations.subscribe(() => {
      throw new Error('listener bug');
    });
    revocations.subscribe((event) => seen.push(`c${event.id}`));
    const first = await revocations.emit({ kind: 'logout', userId: randomUUID() });
    unsubscribe();
    const second = await revocations.emit({ kind: 'logout', userId: randomUUID() });
    expect(seen).toEqual([`a${first.id}`, `c${first.id}`, `c${second.id}`]);
  });

  it('does not replay events written before it started, and catches up on those no broadcast delivered', async () => {
    const writer = await build(database());
    const before = await writer.emit({ kind: 'logout', userId: randomUUID() });
    const reader = await build(database(), { pollInterval: 50 });
    const events = collect(reader);
    // Recorded and committed, never announced: only the table knows.
    const missed = await database().transaction((tx) => writer.record(tx, { kind: 'user_banned', userId: randomUUID() }));
    await expect.poll(() => events.map((event) => event.id), { timeout: 1000 }).toEqual([missed.id]);
    expect(events.map((event) => event.id)).not.toContain(before.id);
  });

  it('catches up on a smaller id that commits after a larger one', async () => {
    const writer = await build(database());
    const reader = await build(database(), { pollInterval: 50 });
    const events = collect(reader);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let recorded: () => void = () => undefined;
    const isRecorded = new Promise<void>((resolve) => {
      recorded = resolve;
    });
    // The slow transaction takes its id first and commits last.
    const slow = database().transaction(async (tx) => {
      const event = await writer.record(tx, { kind: 'role_changed', userId: randomUUID() });
      recorded();
      await held;
      return event;
    });
    await isRecorded;
    if (database().kind === 'pglite') {
      // One connection: transactions run one after the other, so the order cannot be inverted.
      release();
      const first = await slow;
      await expect.poll(() => events.map((event) => event.id), { timeout: 1000 }).toEqual([first.id]);
      return;
    }
    const fast = await writer.emit({ kind: 'logout', userId: randomUUID() });
    await expect.poll(() => events.map((event) => event.id), { timeout: 1000 }).toEqual([fast.id]);
    await sleep(200);
    release();
    const late = await slow;
    expect(BigInt(late.id)).toBeLessThan(BigInt(fast.id));
    await expect.poll(() => events.map((event) => event.id), { timeout: 1000 }).toEqual([fast.id, late.id]);
  });

  it('refuses a malformed resume id and bad options', async () => {
    const revocations = await build(database());
    await expect(revocations.since('12; drop table auth.users')).rejects.toThrow(TypeError);
    await expect(revocations.since(null, 0)).rejects.toThrow(TypeError);
    await expect(createRevocations({ db: database(), logger, tokenLifetime: 0 })).rejects.toThrow(TypeError);
    await expect(createRevocations({ db: database(), logger, tokenLifetime: 60, pollInterval: -1 })).rejects.toThrow(TypeError);
  });
});

describeWith(['REDIS_URL'], 'revocation events across nodes sharing PostgreSQL and Redis', () => {
  describeEachDatabase('two nodes', (database) => {
    it('delivers an event announced on one node to listeners on both within a second, once each', async () => {
      // A channel of its own, so runs sharing this Redis never meet.
      const shared = { redisUrl: process.env.REDIS_URL ?? '', channelPrefix: `test.${randomBytes(6).toString('hex')}`, pollInterval: 60_000 };
      const nodeA = await build(database(), shared);
      const nodeB = await build(database(), shared);
      const onA = collect(nodeA);
      const onB = collect(nodeB);
      const started = Date.now();
      const event = await nodeA.emit({ kind: 'logout', userId: randomUUID(), sessionIds: [randomUUID()] });
      // The poll runs once a minute here: only the broadcast can deliver in time.
      await expect.poll(() => onB, { timeout: 1000, interval: 10 }).toEqual([event]);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(onA).toEqual([event]);
      await nodeB.announce(event);
      await sleep(200); // the echo of both announcements has come back through Redis
      expect(onA).toEqual([event]);
      expect(onB).toEqual([event]);
    });

    it('ignores messages on the channel that are not events', async () => {
      const prefix = `test.${randomBytes(6).toString('hex')}`;
      const node = await build(database(), { redisUrl: process.env.REDIS_URL ?? '', channelPrefix: prefix, pollInterval: 60_000 });
      const events = collect(node);
      const { Redis } = await import('ioredis');
      const redis = new Redis(process.env.REDIS_URL ?? '');
      try {
        await redis.publish(`${prefix}.revocations`, 'not json');
        await redis.publish(`${prefix}.revocations`, JSON.stringify([{ id: '1', kind: 'unknown', user_id: 'x' }]));
        const event = await node.emit({ kind: 'logout', userId: randomUUID() });
        await sleep(100);
        expect(events).toEqual([event]);
      } finally {
        redis.disconnect();
      }
    });

    it('catches up from the table as soon as its Redis connection comes back', async () => {
      const prefix = `test.${randomBytes(6).toString('hex')}`;
      const node = await build(database(), { redisUrl: process.env.REDIS_URL ?? '', channelPrefix: prefix, pollInterval: 60_000 });
      const events = collect(node);
      const { Redis } = await import('ioredis');
      const redis = new Redis(process.env.REDIS_URL ?? '');
      try {
        // Written while the node is cut off: its broadcast never reaches the node.
        const missed = await database().transaction((tx) => node.record(tx, { kind: 'user_banned', userId: randomUUID() }));
        const clients = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
        const ids = clients.split('\n').filter((line) => line.includes(` name=${prefix}.revocations `)).map((line) => /(?:^| )id=(\d+)/.exec(line)![1]!);
        expect(ids).toHaveLength(1);
        await redis.call('CLIENT', 'KILL', 'ID', ids[0]!);
        // The periodic read is a minute away: only the reconnect's catch-up can deliver in time.
        await expect.poll(() => events, { timeout: 2000 }).toEqual([missed]);
      } finally {
        redis.disconnect();
      }
    });

    it('catches up from the table on an event whose broadcast was lost', async () => {
      const shared = { redisUrl: process.env.REDIS_URL ?? '', channelPrefix: `test.${randomBytes(6).toString('hex')}`, pollInterval: 100 };
      const writer = await build(database(), shared);
      const reader = await build(database(), shared);
      const events = collect(reader);
      // Committed, but the writer stopped before announcing it.
      const event = await database().transaction((tx) => writer.record(tx, { kind: 'user_deleted', userId: randomUUID() }));
      await writer.close();
      await expect.poll(() => events, { timeout: 1000 }).toEqual([event]);
    });
  });
});
