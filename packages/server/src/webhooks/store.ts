import type { Queryable } from '../db/index.js';

/** A stored event as the admin API shows it (without the body). */
export interface WebhookEventSummary {
  readonly id: number;
  readonly endpoint: string;
  readonly delivery_key: string;
  readonly received_at: string;
  readonly forward_status: 'none' | 'pending' | 'delivered' | 'failed';
  readonly forward_attempts: number;
  readonly forward_error: string | null;
  readonly forwarded_at: string | null;
  readonly replayed_at: string | null;
}

/** A stored event with its headers and raw body. */
export interface WebhookEvent extends WebhookEventSummary {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

type EventRow = {
  id: number;
  endpoint: string;
  delivery_key: string;
  received_at: Date;
  forward_status: WebhookEventSummary['forward_status'];
  forward_attempts: number;
  forward_error: string | null;
  forwarded_at: Date | null;
  replayed_at: Date | null;
  headers?: Record<string, string>;
  body?: Uint8Array;
};

const SUMMARY = 'id, endpoint, delivery_key, received_at, forward_status, forward_attempts, forward_error, forwarded_at, replayed_at';

function summary(row: EventRow): WebhookEventSummary {
  return {
    id: Number(row.id),
    endpoint: row.endpoint,
    delivery_key: row.delivery_key,
    received_at: row.received_at.toISOString(),
    forward_status: row.forward_status,
    forward_attempts: row.forward_attempts,
    forward_error: row.forward_error,
    forwarded_at: row.forwarded_at?.toISOString() ?? null,
    replayed_at: row.replayed_at?.toISOString() ?? null,
  };
}

/** The `latchkey.webhook_events` table. */
export class WebhookEventStore {
  constructor(readonly db: Queryable) {}

  /**
   * Stores an accepted delivery once: returns its id, or `null` when the endpoint already holds the
   * same delivery key (a duplicate; nothing is written). One statement: concurrent duplicates race on
   * the unique key, and exactly one inserts.
   */
  async insert(endpoint: string, deliveryKey: string, headers: Readonly<Record<string, string>>, body: Buffer, forwarding: boolean): Promise<number | null> {
    const { rows } = await this.db.query<{ id: number }>(
      `insert into latchkey.webhook_events (endpoint, delivery_key, headers, body, forward_status)
       values ($1, $2, $3, $4, $5)
       on conflict (endpoint, delivery_key) do nothing
       returning id`,
      [endpoint, deliveryKey, JSON.stringify(headers), body, forwarding ? 'pending' : 'none'],
    );
    return rows[0] ? Number(rows[0].id) : null;
  }

  /** Events newest first, optionally of one endpoint, with ids below `before` (paging). */
  async list(options: { endpoint?: string | undefined; before?: number | undefined; limit: number }): Promise<WebhookEventSummary[]> {
    const { rows } = await this.db.query<EventRow>(
      `select ${SUMMARY} from latchkey.webhook_events
       where ($1::text is null or endpoint = $1) and ($2::int8 is null or id < $2)
       order by id desc limit $3`,
      [options.endpoint ?? null, options.before ?? null, options.limit],
    );
    return rows.map(summary);
  }

  /** One event with headers and body; `null` when there is none. */
  async get(id: number): Promise<WebhookEvent | null> {
    const { rows } = await this.db.query<EventRow>(`select ${SUMMARY}, headers, body from latchkey.webhook_events where id = $1`, [id]);
    const row = rows[0];
    if (!row) return null;
    return { ...summary(row), headers: row.headers ?? {}, body: Buffer.from(row.body ?? new Uint8Array()) };
  }

  /** Records one forward attempt's outcome. */
  async recordForward(id: number, outcome: { status: 'pending' | 'delivered' | 'failed'; error: string | null }): Promise<void> {
    await this.db.query(
      `update latchkey.webhook_events
       set forward_attempts = forward_attempts + 1, forward_status = $2, forward_error = $3,
           forwarded_at = case when $2 = 'delivered' then now() else forwarded_at end
       where id = $1`,
      [id, outcome.status, outcome.error],
    );
  }

  /** Marks a replay (delivered again on request). */
  async markReplayed(id: number, forwarding: boolean): Promise<void> {
    await this.db.query(
      `update latchkey.webhook_events set replayed_at = now(), forward_status = case when $2 then 'pending' else forward_status end where id = $1`,
      [id, forwarding],
    );
  }
}
