import type { Redis } from 'ioredis';
import { connectPubSub, createPubSubPair } from './pub-sub.js';
import { ClusterListeners, parseClusterMessage, type BrokerStatus, type ClusterBus, type ClusterListener, type ClusterMessage } from './bus.js';

/** Options of {@link RedisClusterBus}. */
export interface RedisClusterBusOptions {
  readonly url: string;
  readonly channel: string;
}

/**
 * Cluster messages over one Redis pub/sub channel, connected as the revocation broadcaster is: a
 * publishing connection that never queues while Redis is away, and a subscribing one that reconnects
 * by itself and subscribes again (ioredis `autoResubscribe`); listeners hear `reconnected` then.
 */
export class RedisClusterBus implements ClusterBus {
  readonly kind = 'redis' as const;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #channel: string;
  readonly #listeners = new ClusterListeners();

  constructor(options: RedisClusterBusOptions) {
    this.#channel = options.channel;
    ({ pub: this.#pub, sub: this.#sub } = createPubSubPair(options.url, options.channel));
  }

  /** Connects both connections and subscribes; rejects (and closes) when Redis cannot be reached. */
  async start(): Promise<void> {
    this.#sub.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return;
      const message = parseClusterMessage(text);
      if (message) this.#listeners.message(message);
    });
    await connectPubSub(this.#pub, this.#sub, this.#channel, () => this.#listeners.reconnected());
  }

  async publish(message: ClusterMessage): Promise<void> {
    try {
      await this.#pub.publish(this.#channel, JSON.stringify(message));
    } catch {
      // Redis is away: this node's own listeners still hear it, the others re-read on reconnect.
      this.#listeners.message(message);
    }
  }

  subscribe(listener: ClusterListener): () => void {
    return this.#listeners.add(listener);
  }

  status(): BrokerStatus {
    return this.#sub.status === 'ready' && this.#pub.status === 'ready' ? 'up' : 'down';
  }

  async close(): Promise<void> {
    this.#sub.disconnect();
    this.#pub.disconnect();
  }
}
