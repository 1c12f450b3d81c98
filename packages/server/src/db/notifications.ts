import pg from 'pg';

import type { NotificationHandlers, Notifications } from './notification-types.js';

/** Milliseconds before reconnect attempt `attempt` (0-based): 100 ms, doubling, at most 2 s. */
function retryDelay(attempt: number): number {
  return Math.min(100 * 2 ** attempt, 2000);
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Listens on one PostgreSQL notification channel over a connection of its own (never one of the pool,
 * which `LISTEN` would take for good). A lost connection is made again with backoff, and the handlers
 * hear `reconnected` once it listens again. Starting never fails: while the server cannot be reached the
 * listener keeps trying, and reports `reconnected` when it first succeeds.
 */
export class NotificationListener implements Notifications {
  readonly #config: pg.ClientConfig;
  readonly #channel: string;
  readonly #handlers: NotificationHandlers;
  #client: pg.Client | null = null;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #closed = false;

  constructor(config: pg.ClientConfig, channel: string, handlers: NotificationHandlers) {
    this.#config = config;
    this.#channel = channel;
    this.#handlers = handlers;
  }

  /** Connects and listens; on failure, retries in the background. */
  async start(): Promise<void> {
    if (!(await this.#connect())) this.#schedule();
  }

  async #connect(): Promise<boolean> {
    const client = new pg.Client(this.#config);
    // A lost connection surfaces as 'error' and then 'end'; 'end' starts the next attempt.
    client.on('error', () => undefined);
    client.on('notification', (message: pg.Notification) => {
      if (message.channel === this.#channel) this.#handlers.notify(message.payload ?? '');
    });
    client.on('end', () => {
      if (this.#client !== client) return;
      this.#client = null;
      this.#schedule();
    });
    try {
      await client.connect();
      await client.query(`listen ${quoteIdentifier(this.#channel)}`);
    } catch {
      await client.end().catch(() => undefined);
      return false;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return true;
    }
    this.#client = client;
    this.#attempt = 0;
    return true;
  }

  #schedule(): void {
    if (this.#closed) return;
    const delay = retryDelay(this.#attempt);
    this.#attempt += 1;
    this.#timer = setTimeout(() => {
      void this.#connect().then((listening) => {
        if (!listening) this.#schedule();
        else if (!this.#closed) this.#handlers.reconnected();
      });
    }, delay);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }
}
