import type { Database, Queryable } from '../db/index.js';
import type { Logger } from '../logging/logger.js';
import { MemoryBroadcaster, type RevocationBroadcaster } from './broadcaster.js';
import { RevocationStore, insertRevocation, type RevocationTimes } from './store.js';
import type { RevocationEvent, RevocationInput, RevocationListener, RevocationRecorder, Revocations } from './types.js';

/** Options of {@link createRevocations}. */
export interface RevocationsOptions {
  readonly db: Database;
  readonly logger: Logger;
  /** Access-token lifetime in seconds (`LATCHKEY_JWT_EXPIRY`): how long an event matters. */
  readonly tokenLifetime: number;
  /** Seconds added to `expires_at` beyond the token lifetime, for verifiers' clock tolerance. Default 60. */
  readonly expiryMargin?: number;
  /** Redis for several nodes; `null` or absent keeps events in this process. */
  readonly redisUrl?: string | null;
  /** Prefix of the Redis channel, which is `<prefix>.revocations`. Default `latchkey`. */
  readonly channelPrefix?: string;
  /** Milliseconds between catch-up reads of the table. Default 2000. */
  readonly pollInterval?: number;
  /** Milliseconds between deletions of expired events. Default 60000 (1 minute). */
  readonly pruneInterval?: number;
  /**
   * Seconds after which an event's id is taken as final: a transaction holding a smaller id longer than
   * this is not waited for. Default 30.
   */
  readonly settleSeconds?: number;
  /** Clock in milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

/** `issued_before`: the moment of the change rounded up to the second; `expires_at`: when every token it refuses has expired. */
function revocationTimes(nowMs: number, lifetime: number, margin: number): RevocationTimes {
  const issuedBefore = Math.ceil(nowMs / 1000);
  return { issuedBefore, expiresAt: issuedBefore + lifetime + margin };
}

/** Rows read per catch-up query. */
const POLL_BATCH = 500;

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number (got ${value})`);
  return value;
}

class RevocationHub implements Revocations {
  readonly #store: RevocationStore;
  readonly #db: Database;
  readonly #broadcaster: RevocationBroadcaster;
  readonly #logger: Logger;
  readonly #lifetime: number;
  readonly #margin: number;
  readonly #settleSeconds: number;
  readonly #now: () => number;
  readonly #listeners = new Set<RevocationListener>();
  /** Every id up to this one has been delivered (or predates this process). */
  #floor: bigint | null = null;
  /** Ids above {@link RevocationHub.#floor} already delivered. */
  readonly #seen = new Set<string>();
  #polling: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];
  #closed = false;

  constructor(options: RevocationsOptions, broadcaster: RevocationBroadcaster) {
    this.#db = options.db;
    this.#store = new RevocationStore(options.db);
    this.#broadcaster = broadcaster;
    this.#logger = options.logger;
    this.#lifetime = positive('tokenLifetime', options.tokenLifetime);
    this.#margin = options.expiryMargin ?? 60;
    if (!Number.isFinite(this.#margin) || this.#margin < 0) throw new TypeError(`expiryMargin must be >= 0 (got ${this.#margin})`);
    this.#settleSeconds = positive('settleSeconds', options.settleSeconds ?? 30);
    this.#now = options.now ?? Date.now;
  }

  async start(pollInterval: number, pruneInterval: number): Promise<void> {
    // Events written before this process started are not replayed to its listeners.
    await this.#catchUp(false);
    await this.#broadcaster.start({
      deliver: (events) => {
        for (const event of events) this.#deliver(event);
      },
      reconnected: () => void this.poll(),
    });
    const poll = setInterval(() => void this.poll(), pollInterval);
    const prune = setInterval(() => void this.prune(), pruneInterval);
    poll.unref();
    prune.unref();
    this.#timers = [poll, prune];
  }

  async record(tx: Queryable, input: RevocationInput): Promise<RevocationEvent> {
    return insertRevocation(tx, input, revocationTimes(this.#now(), this.#lifetime, this.#margin));
  }

  async announce(...events: readonly RevocationEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const event of events) this.#deliver(event);
    try {
      await this.#broadcaster.publish(events);
    } catch (error) {
      // Stored already: the other nodes read it on their next catch-up.
      this.#logger.warn({ err: error, events: events.map((event) => event.id) }, 'revocation broadcast failed; other nodes catch up from the database');
    }
  }

  async emit(input: RevocationInput): Promise<RevocationEvent> {
    const event = await this.#db.transaction((tx) => this.record(tx, input));
    await this.announce(event);
    return event;
  }

  subscribe(listener: RevocationListener): () => void {
    // A wrapper per call, so the same function subscribed twice is two subscriptions.
    const entry: RevocationListener = (event) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  async since(after: string | null, limit = 1000): Promise<RevocationEvent[]> {
    if (after !== null && !/^[0-9]{1,19}$/.test(after)) throw new TypeError(`after must be a decimal event id (got ${JSON.stringify(after)})`);
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`limit must be a positive whole number (got ${limit})`);
    return this.#store.since(after, limit);
  }

  /** Reads the table for events no broadcast delivered. Concurrent calls share one read. */
  poll(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#polling ??= this.#catchUp(true)
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'revocation catch-up failed; retrying'))
      .finally(() => {
        this.#polling = undefined;
      });
    return this.#polling;
  }

  /** Deletes expired events. */
  async prune(): Promise<number> {
    if (this.#closed) return 0;
    try {
      return await this.#store.prune();
    } catch (error) {
      this.#logger.warn({ err: error }, 'pruning revocation events failed');
      return 0;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#listeners.clear();
    await this.#polling;
    await this.#broadcaster.close();
  }

  async #catchUp(deliver: boolean): Promise<void> {
    let cursor = this.#floor === null ? null : this.#floor.toString();
    let settledPrefix = true;
    for (;;) {
      const batch = await this.#store.poll(cursor, POLL_BATCH, this.#settleSeconds);
      for (const { event, settled } of batch) {
        if (deliver) this.#deliver(event);
        else this.#seen.add(event.id);
        // The floor moves over settled events only while no unsettled one precedes them.
        if (settledPrefix && settled) this.#floor = BigInt(event.id);
        else settledPrefix = false;
      }
      if (batch.length < POLL_BATCH || this.#closed) break;
      cursor = batch[batch.length - 1]!.event.id;
    }
    const floor = this.#floor;
    if (floor !== null) for (const id of this.#seen) if (BigInt(id) <= floor) this.#seen.delete(id);
  }

  #deliver(event: RevocationEvent): void {
    if (this.#closed || this.#seen.has(event.id)) return;
    if (this.#floor !== null && BigInt(event.id) <= this.#floor) return;
    this.#seen.add(event.id);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error({ err: error, event: event.id }, 'revocation listener failed');
      }
    }
  }
}

/**
 * Builds the process's {@link Revocations}: events stored in `auth.revocation_events`, broadcast
 * through Redis when `redisUrl` is set (loaded only then), and a catch-up read of the table every
 * `pollInterval` and after each Redis reconnect, so events a lost message or a disconnect missed still
 * reach the listeners. Listeners see each event once. Expired events are pruned every `pruneInterval`.
 *
 * @example
 * ```ts
 * const revocations = await createRevocations({ db, logger, tokenLifetime: 3600, redisUrl: process.env.REDIS_URL });
 * const event = await db.transaction(async (tx) => {
 *   await tx.query('delete from auth.sessions where id = $1', [sessionId]);
 *   return revocations.record(tx, { kind: 'logout', sessionIds: [sessionId] });
 * });
 * await revocations.announce(event);
 * ```
 */
export async function createRevocations(options: RevocationsOptions): Promise<Revocations> {
  const pollInterval = positive('pollInterval', options.pollInterval ?? 2000);
  const pruneInterval = positive('pruneInterval', options.pruneInterval ?? 60_000);
  let broadcaster: RevocationBroadcaster = new MemoryBroadcaster();
  if (options.redisUrl) {
    const { RedisBroadcaster } = await import('./redis-broadcaster.js');
    broadcaster = new RedisBroadcaster({ url: options.redisUrl, channel: `${options.channelPrefix ?? 'latchkey'}.revocations` });
  }
  const hub = new RevocationHub(options, broadcaster);
  await hub.start(pollInterval, pruneInterval);
  return hub;
}

/** Options of {@link createRevocationRecorder}. */
export type RevocationRecorderOptions = Pick<RevocationsOptions, 'tokenLifetime' | 'expiryMargin' | 'now'>;

/**
 * Records events without a broker, for a process that changes the database but serves nothing (the
 * command line): `announce` does nothing, and the serving nodes deliver the stored events through
 * their catch-up read within their poll interval.
 */
export function createRevocationRecorder(options: RevocationRecorderOptions): RevocationRecorder {
  const lifetime = positive('tokenLifetime', options.tokenLifetime);
  const margin = options.expiryMargin ?? 60;
  const now = options.now ?? Date.now;
  return {
    record: (tx, input) => insertRevocation(tx, input, revocationTimes(now(), lifetime, margin)),
    announce: async () => undefined,
  };
}
