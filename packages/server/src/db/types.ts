import type { NotificationHandlers, Notifications } from './notification-types.js';

/** One row as returned by the driver: column name to parsed value. */
export type Row = Record<string, unknown>;

export interface QueryResult<R extends Row = Row> {
  readonly rows: R[];
  /** Rows inserted, updated or deleted by the statement (0 for a plain select). */
  readonly rowCount: number;
}

/** Anything that runs parameterised SQL: the database itself or an open transaction. */
export interface Queryable {
  /**
   * Runs one statement with `$1`-style parameters. `int8` comes back as a JavaScript number,
   * `json`/`jsonb` parsed, timestamps as `Date`, on both engines.
   */
  query<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

/** An open transaction: parameterised statements plus multi-statement scripts. */
export interface TransactionHandle extends Queryable {
  /** Runs a script of several statements without parameters inside the transaction. */
  execScript(sql: string): Promise<void>;
}

/**
 * The one database interface every service uses. Implemented over embedded PGlite and over a
 * pooled PostgreSQL connection; tests run the same suites against both.
 */
export interface Database extends Queryable {
  /** Which engine is behind this handle. */
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * Rows locked with `FOR UPDATE` stay locked until the transaction ends.
   */
  transaction<T>(work: (tx: TransactionHandle) => Promise<T>): Promise<T>;
  /** Runs a script of several statements without parameters (migrations). */
  execScript(sql: string): Promise<void>;
  /** Resolves when the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
  /**
   * Listens on a notification channel (`NOTIFY`, `pg_notify`) of a database shared by several
   * processes, over a connection of its own that is made again when lost. Absent where one process
   * owns the database (PGlite): whatever that process changes, it knows already.
   */
  listen?(channel: string, handlers: NotificationHandlers): Promise<Notifications>;
  /** Releases every connection. Further calls fail. */
  close(): Promise<void>;
}
