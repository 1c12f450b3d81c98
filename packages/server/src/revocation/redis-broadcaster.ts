import type { Redis } from 'ioredis';
import { parseRevocationEvent } from '@latchkey/verify';
import { connectPubSub, createPubSubPair } from '../cluster/pub-sub.js';
import type { BroadcastHandler, RevocationBroadcaster } from './broadcaster.js';
import type { RevocationEvent } from './types.js';

export interface RedisBroadcasterOptions {
  readonly url: string;
  /** Channel `<channel>`: a JSON array of events per message. */
  readonly channel: string;
}

/**
 * Redis pub/sub: one channel, one JSON array of events per message. Publishing does not queue while
 * Redis is unreachable (it rejects at once); the stored events reach the other nodes through their
 * catch-up poll instead.
 */
export class RedisBroadcaster implements RevocationBroadcaster {
  readonly kind = 'redis' as const;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #channel: string;

  constructor(options: RedisBroadcasterOptions) {
    this.#channel = options.channel;
    ({ pub: this.#pub, sub: this.#sub } = createPubSubPair(options.url, options.channel));
  }

  async start(handler: BroadcastHandler): Promise<void> {
    this.#sub.on('message', (channel: string, message: string) => {
      if (channel !== this.#channel) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(message);
      } catch {
        return;
      }
      if (!Array.isArray(parsed)) return;
      const events: RevocationEvent[] = [];
      for (const item of parsed) {
        const event = parseRevocationEvent(item);
        if (event) events.push(event);
      }
      if (events.length > 0) handler.deliver(events);
    });
    await connectPubSub(this.#pub, this.#sub, this.#channel, () => handler.reconnected());
  }

  async publish(events: readonly RevocationEvent[]): Promise<void> {
    await this.#pub.publish(this.#channel, JSON.stringify(events));
  }

  async close(): Promise<void> {
    this.#sub.disconnect();
    this.#pub.disconnect();
  }
}
