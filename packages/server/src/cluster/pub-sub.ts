import { Redis } from 'ioredis';
import { reconnectDelay } from './reconnect.js';

/** A publishing and a subscribing connection for one channel, not connected yet. */
export interface PubSubPair {
  readonly pub: Redis;
  readonly sub: Redis;
}

/**
 * Makes the two connections of a channel: named after it (so `CLIENT LIST` tells which connections
 * carry what), reconnecting quickly, the publisher failing fast instead of queueing while Redis is away.
 * Connection errors surface through `publish` and the reconnect path; ioredis logs nothing itself.
 */
export function createPubSubPair(url: string, channel: string): PubSubPair {
  const connectionName = channel.replace(/[^A-Za-z0-9._:-]/g, '_');
  const pub = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName, retryStrategy: reconnectDelay });
  const sub = new Redis(url, { lazyConnect: true, connectionName, retryStrategy: reconnectDelay });
  pub.on('error', () => undefined);
  sub.on('error', () => undefined);
  return { pub, sub };
}

/**
 * Connects a publishing and a subscribing Redis connection and subscribes `channel`. ioredis reconnects
 * both and subscribes again by itself; `reconnected` is called each time the subscriber is ready again
 * after a loss (messages may have been missed meanwhile). Disconnects both and rethrows when Redis cannot
 * be reached.
 */
export async function connectPubSub(pub: Redis, sub: Redis, channel: string, reconnected: () => void): Promise<void> {
  let connected = false;
  sub.on('ready', () => {
    if (connected) reconnected();
    connected = true;
  });
  try {
    await Promise.all([pub.connect(), sub.connect()]);
    await sub.subscribe(channel);
  } catch (error) {
    sub.disconnect();
    pub.disconnect();
    throw error;
  }
}
