import pg from 'pg';
import { classifyDatabaseError } from './connection-loss.js';
import { DatabaseUnavailableError } from './errors.js';
import type { NotificationHandlers, Notifications } from './notification-types.js';
import { NotificationListener } from './notifications.js';
import { redactDatabaseUrl } from './redact.js';
import type { Database, QueryResult, Row, TransactionHandle } from './types.js';

const INT8_OID = 20;

/** Options of the pooled PostgreSQL connection. */
export interface PostgresOptions {
  readonly url: string;
  /** Pool size. Default 10. */
  readonly poolSize?: number;
  /** Seconds allowed for one connection attempt. Default 5. */
  readonly connectTimeout?: number;
}

function wrap<R extends Row>(result: pg.QueryResult<R>): QueryResult<R> {
  return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
}

const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : (pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown)) as typeof pg.types.getTypeParser,
};

class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #connection: pg.ClientConfig;
  readonly #listeners = new Set<Notifications>();

  constructor(pool: pg.Pool, connection: pg.ClientConfig) {
    this.#pool = pool;
    this.#connection = connection;
  }

  async listen(channel: string, handlers: NotificationHandlers): Promise<Notifications> {
    const listener = new NotificationListener(this.#connection, channel, handlers);
    this.#listeners.add(listener);
    await listener.start();
    return {
      close: async () => {
        this.#listeners.delete(listener);
        await listener.close();
      },
    };
  }

  async query<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    try {
      return wrap(await this.#pool.query<R>(text, params as unknown[]));
    } catch (error) {
      throw classifyDatabaseError(error);
    }
  }

  async transaction<T>(work: (tx: TransactionHandle) => Promise<T>): Promise<T> {
    try {
      return await this.#transaction(work);
    } catch (error) {
      throw classifyDatabaseError(error);
    }
  }

  async #transaction<T>(work: (tx: TransactionHandle) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken = false;
    // While checked out, a client has no listener of the pool: a connection cut between two statements
    // (the server restarting while `work` awaits something else) would be an unhandled 'error' event and
    // end the process. It is a lost connection instead: the next statement fails and the client is dropped.
    const lost = () => {
      broken = true;
    };
    client.on('error', lost);
    try {
      await client.query('begin');
      const result = await work({
        async query<R extends Row = Row>(text: string, params: readonly unknown[] = []) {
          return wrap(await client.query<R>(text, params as unknown[]));
        },
        async execScript(sql: string) {
          await client.query(sql);
        },
      });
      await client.query('commit');
      return result;
    } catch (error) {
      try {
        await client.query('rollback');
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      client.removeListener('error', lost);
      client.release(broken);
    }
  }

  async execScript(sql: string): Promise<void> {
    await this.#pool.query(sql);
  }

  async ping(timeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DatabaseUnavailableError('the database did not answer in time')), timeoutMs);
    });
    try {
      await Promise.race([this.#pool.query('select 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#listeners].map((listener) => listener.close()));
    this.#listeners.clear();
    await this.#pool.end();
  }
}

/**
 * Connects a pool to PostgreSQL and checks it answers. Fails with {@link DatabaseUnavailableError}
 * within `connectTimeout` seconds when the server cannot be reached; never hangs.
 */
export async function openPostgresDatabase(options: PostgresOptions): Promise<Database> {
  const connectTimeout = options.connectTimeout ?? 5;
  const connection: pg.ClientConfig = { connectionString: options.url, connectionTimeoutMillis: Math.ceil(connectTimeout * 1000), types: typeParsers };
  const pool = new pg.Pool({ ...connection, max: options.poolSize ?? 10, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const db = new PostgresDatabase(pool, connection);
  try {
    await db.ping(Math.ceil(connectTimeout * 1000) + 500);
  } catch (error) {
    await pool.end().catch(() => undefined);
    const reason = error instanceof Error ? (error as NodeJS.ErrnoException).code ?? error.message : String(error);
    throw new DatabaseUnavailableError(`cannot connect to ${redactDatabaseUrl(options.url)} (${reason})`, { cause: error });
  }
  return db;
}
