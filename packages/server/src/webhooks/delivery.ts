import type { Logger } from '../logging/logger.js';
import type { WebhookSettings } from './settings.js';
import type { WebhookEventStore } from './store.js';

/** What is delivered: a stored event. */
export interface DeliveredEvent {
  readonly id: number;
  readonly endpoint: string;
  readonly deliveryKey: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Publishes to a gateway channel on every node; `null` when the gateway is not mounted. */
export type ChannelPublisher = ((channel: string, data: unknown) => Promise<void>) | null;

/** The publication on `webhooks:<name>`: the event id and the body (parsed JSON, or base64 when it is not JSON). */
export function publicationOf(event: DeliveredEvent): Record<string, unknown> {
  const base = { id: event.id, endpoint: event.endpoint, delivery_key: event.deliveryKey };
  try {
    return { ...base, payload: JSON.parse(event.body.toString('utf8')) as unknown };
  } catch {
    return { ...base, body_base64: event.body.toString('base64') };
  }
}

/**
 * Downstream work for accepted events, after the provider has its 200: a publication on the gateway
 * channel `webhooks:<name>` and, when the endpoint has a forward URL, a POST of the raw body there,
 * retried with exponential backoff (`forwardBackoff · 2^(n−1)` seconds after the n-th failure) up to
 * `forwardAttempts` times. Each attempt's outcome is stored on the event. Pending retries live in this
 * process: stopped by {@link close}, and an event left `pending` by a stopped process is sent again with
 * a replay.
 */
export class WebhookDelivery {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(
    readonly store: WebhookEventStore,
    readonly settings: WebhookSettings,
    readonly publish: ChannelPublisher,
    readonly logger: Logger,
    readonly forwardUrls: ReadonlyMap<string, string>,
  ) {}

  /** Starts delivering `event`; returns at once. */
  deliver(event: DeliveredEvent): void {
    if (this.#closed) return;
    this.#track(this.#publish(event));
    const url = this.forwardUrls.get(event.endpoint);
    if (url !== undefined) this.#track(this.#forward(event, url, 1));
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #publish(event: DeliveredEvent): Promise<void> {
    if (!this.publish) return;
    try {
      await this.publish(`webhooks:${event.endpoint}`, publicationOf(event));
    } catch (error) {
      this.logger.error({ event: event.id, endpoint: event.endpoint, reason: (error as Error).message }, 'webhook event not published');
    }
  }

  async #forward(event: DeliveredEvent, url: string, attempt: number): Promise<void> {
    let failure: string | null = null;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': event.headers['content-type'] ?? 'application/octet-stream',
          'x-latchkey-webhook-endpoint': event.endpoint,
          'x-latchkey-webhook-event': String(event.id),
          'x-latchkey-webhook-delivery': event.deliveryKey,
        },
        body: new Uint8Array(event.body),
        signal: AbortSignal.timeout(this.settings.forwardTimeout * 1000),
      });
      await response.body?.cancel().catch(() => undefined);
      if (!response.ok) failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
    }
    if (this.#closed) return;
    const last = attempt >= this.settings.forwardAttempts;
    const status = failure === null ? 'delivered' : last ? 'failed' : 'pending';
    try {
      await this.store.recordForward(event.id, { status, error: failure });
    } catch (error) {
      this.logger.error({ event: event.id, reason: (error as Error).message }, 'webhook forward outcome not stored');
    }
    if (failure === null) return;
    this.logger.warn({ event: event.id, endpoint: event.endpoint, attempt, reason: failure }, last ? 'webhook forward failed; giving up' : 'webhook forward failed; retrying');
    if (last || this.#closed) return;
    const delay = this.settings.forwardBackoff * 1000 * 2 ** (attempt - 1);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#track(this.#forward(event, url, attempt + 1));
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }

  /** Stops retries and waits for attempts in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#inFlight]);
  }
}
