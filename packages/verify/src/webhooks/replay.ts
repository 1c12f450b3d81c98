/**
 * Replay protection: remember accepted message ids for as long as their signature stays valid.
 * Stores: in memory (one process), PostgreSQL (anything with `query(text, params)`), Redis (ioredis).
 *
 * @module
 */

/** Where accepted message ids are remembered. */
export interface ReplayStore {
  /**
   * Records `id` for `ttlMs` milliseconds. Resolves `true` when the id was new, `false` when it was
   * already recorded and has not expired (a replay).
   */
  remember(id: string, ttlMs: number): Promise<boolean>;
}

/** In-process store, bounded; the entry closest to expiry is not tracked, the oldest is evicted. */
export function memoryReplayStore(options: { max?: number; now?: () => number } = {}): ReplayStore {
  const max = options.max ?? 100_000;
  const now = options.now ?? Date.now;
  const seen = new Map<string, number>();
  return {
    async remember(id, ttlMs) {
      const current = now();
      const until = seen.get(id);
      if (until !== undefined && until > current) return false;
      if (seen.size >= max) {
        for (const [key, expiry] of seen) if (expiry <= current) seen.delete(key);
        if (seen.size >= max) {
          const oldest = seen.keys().next();
          if (!oldest.done) seen.delete(oldest.value);
        }
      }
      seen.delete(id);
      seen.set(id, current + ttlMs);
      return true;
    },
  };
}

/** Anything that runs parameterised SQL (a `pg` pool or client, PGlite, the Latchkey database). */
export interface SqlQueryable {
  query(text: string, params?: readonly unknown[]): Promise<{ rows: unknown[] }>;
}

const TABLE_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

/**
 * PostgreSQL store. Creates its table (default `latchkey_webhook_ids`) on first use if missing and
 * deletes expired rows now and then.
 */
export function postgresReplayStore(db: SqlQueryable, options: { table?: string } = {}): ReplayStore {
  const table = options.table ?? 'latchkey_webhook_ids';
  if (!TABLE_NAME.test(table)) throw new TypeError('`table` must be a plain (optionally schema-qualified) lower-case identifier');
  let ready: Promise<void> | undefined;
  let inserts = 0;
  const setup = async (): Promise<void> => {
    try {
      await db.query(`create table if not exists ${table} (id text primary key, expires_at timestamptz not null)`);
    } catch (error) {
      // Two processes creating the table at once: the loser sees a duplicate; the table exists.
      const code = (error as { code?: unknown }).code;
      if (code !== '23505' && code !== '42P07') throw error;
    }
  };
  return {
    async remember(id, ttlMs) {
      ready ??= setup().catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
      await ready;
      const result = await db.query(
        `insert into ${table} as seen (id, expires_at) values ($1, now() + $2::double precision * interval '1 millisecond')
         on conflict (id) do update set expires_at = excluded.expires_at where seen.expires_at <= now()
         returning id`,
        [id, ttlMs],
      );
      inserts += 1;
      if (inserts % 1000 === 0) await db.query(`delete from ${table} where expires_at <= now()`);
      return result.rows.length === 1;
    },
  };
}

/** The part of an ioredis client the Redis store uses. */
export interface RedisSetNx {
  set(key: string, value: string, millisecondsToken: 'PX', milliseconds: number, nx: 'NX'): Promise<string | null>;
}

/** Redis store: `SET key 1 PX ttl NX` (default key prefix `latchkey:webhook:`). */
export function redisReplayStore(redis: RedisSetNx, options: { prefix?: string } = {}): ReplayStore {
  const prefix = options.prefix ?? 'latchkey:webhook:';
  return {
    async remember(id, ttlMs) {
      const answer = await redis.set(`${prefix}${id}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
      return answer === 'OK';
    },
  };
}
