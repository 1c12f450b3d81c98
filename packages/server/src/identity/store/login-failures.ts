import type { Queryable } from '../../db/index.js';

/**
 * Statements on `auth.login_failures`: failed password attempts counted per account, per address and
 * per account-and-address pair, under hashed keys.
 */

/** A failure counter. */
export interface CounterRow {
  key: string;
  failures: number;
  last_failure_at: Date;
  blocked_until: Date | null;
  [column: string]: unknown;
}

/**
 * Creates missing counters and locks all of them, in key order (so concurrent attempts cannot deadlock),
 * in one statement: the no-op update on conflict locks an existing row and returns it as it is.
 */
export async function lockCounters(tx: Queryable, keys: readonly string[], now: Date): Promise<Map<string, CounterRow>> {
  const { rows } = await tx.query<CounterRow>(
    `insert into auth.login_failures as f (key, failures, last_failure_at) select unnest($1::text[]), 0, $2 order by 1
       on conflict (key) do update set failures = f.failures
       returning key, failures, last_failure_at, blocked_until`,
    [[...keys].sort(), now],
  );
  return new Map(rows.map((row) => [row.key, row]));
}

/** A counter's new state after a failure. */
export interface CounterUpdate {
  readonly key: string;
  readonly failures: number;
  /** ISO instant until which attempts wait; `null` for none. */
  readonly blockedUntil: string | null;
}

/** Writes counters (locked by {@link lockCounters}) in one statement, their last failure at `now`. */
export async function writeCounters(tx: Queryable, updates: readonly CounterUpdate[], now: Date): Promise<void> {
  await tx.query(
    `update auth.login_failures as f set failures = v.failures, last_failure_at = $4, blocked_until = v.blocked_until
       from (select unnest($1::text[]) as key, unnest($2::int[]) as failures, unnest($3::timestamptz[]) as blocked_until) as v
      where f.key = v.key`,
    [updates.map((update) => update.key), updates.map((update) => update.failures), updates.map((update) => update.blockedUntil), now],
  );
}

/**
 * Takes a successful attempt back, in one statement: forgets the pair's failures, takes one failure
 * off the account and address counters, and lifts a wait the attempt itself set below a threshold
 * (`accountThreshold` / `addressThreshold`, 0 for off).
 */
export async function takeBackAttempt(
  db: Queryable,
  keys: { readonly pair: string; readonly account: string; readonly address: string },
  accountThreshold: number,
  addressThreshold: number,
): Promise<void> {
  await db.query(
    `with forgotten as (delete from auth.login_failures where key = $1)
     update auth.login_failures
        set failures = greatest(failures - 1, 0),
            blocked_until = case when failures - 1 >= nullif(case when key = $2 then $4::int else $5::int end, 0) then blocked_until end
      where key = $2 or key = $3`,
    [keys.pair, keys.account, keys.address, accountThreshold, addressThreshold],
  );
}

/** Deletes counters whose last failure is before `before`. */
export async function deleteCountersBefore(db: Queryable, before: Date): Promise<void> {
  await db.query('delete from auth.login_failures where last_failure_at < $1', [before]);
}
