import type { Redis } from 'ioredis';

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
