import type { Database } from '../db/index.js';

/** A message every node of a deployment acts on. */
export type ClusterMessage =
  /** The signing keys in the database changed (rotation): re-read them now. */
  { readonly type: 'keys_changed' };

/** What a node does with cluster messages. */
export interface ClusterListener {
  /** A message from any node, this one included. */
  message(message: ClusterMessage): void;
  /** The broker connection came back after a loss: messages may have been missed, re-read what they announce. */
  reconnected(): void;
}

/** Connection state of the broker, as `/health` reports it. */
export type BrokerStatus = 'up' | 'down';

/**
 * Carries {@link ClusterMessage}s to every node: Redis pub/sub when `REDIS_URL` is set, else nothing
 * (one process: the sender's listeners are called directly).
 */
export interface ClusterBus {
  readonly kind: 'memory' | 'redis';
  /** Sends to every node; resolves even when the broker is unreachable (nodes catch up on reconnect or by polling). */
  publish(message: ClusterMessage): Promise<void>;
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ClusterListener): () => void;
  /** `up` while connected to the broker (always for the in-process bus). */
  status(): BrokerStatus;
  close(): Promise<void>;
}

/** Parses a message from the wire; `null` for anything foreign or damaged. */
export function parseClusterMessage(text: string): ClusterMessage | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && 'type' in value && value.type === 'keys_changed') return { type: 'keys_changed' };
  } catch {
    // ignored below
  }
  return null;
}

/** Listeners of one process, called in order; a failing listener does not stop the others. */
export class ClusterListeners {
  readonly #listeners = new Set<ClusterListener>();

  add(listener: ClusterListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  message(message: ClusterMessage): void {
    for (const listener of this.#listeners) listener.message(message);
  }

  reconnected(): void {
    for (const listener of this.#listeners) listener.reconnected();
  }
}

/** The bus of a single process. */
export class MemoryClusterBus implements ClusterBus {
  readonly kind = 'memory' as const;
  readonly #listeners = new ClusterListeners();

  async publish(message: ClusterMessage): Promise<void> {
    this.#listeners.message(message);
  }
  subscribe(listener: ClusterListener): () => void {
    return this.#listeners.add(listener);
  }
  status(): BrokerStatus {
    return 'up';
  }
  async close(): Promise<void> {}
}

/** Options of {@link openClusterBus}. */
export interface ClusterBusOptions {
  /** Redis URL; `null` keeps messages in this process. */
  readonly redisUrl: string | null;
  /** The deployment's prefix (`LATCHKEY_REDIS_PREFIX`): the channel is `<prefix>.cluster`. */
  readonly prefix: string;
  /**
   * The shared database: on PostgreSQL the bus also carries what it announces (a change of the signing
   * keys, whoever wrote it), so nodes hear of a rotation written to the database directly at once.
   */
  readonly db?: Database;
}

/**
 * Opens the bus: Redis when a URL is given (connected before this resolves; loaded only then), else in
 * process; plus the database's announcements when `db` is PostgreSQL. Rejects when Redis cannot be
 * reached at start.
 */
export async function openClusterBus(options: ClusterBusOptions): Promise<ClusterBus> {
  const bus = options.redisUrl ? await openRedisBus(options.redisUrl, options.prefix) : new MemoryClusterBus();
  if (!options.db) return bus;
  const { followDatabase } = await import('./database-feed.js');
  try {
    return await followDatabase(bus, options.db);
  } catch (error) {
    await bus.close();
    throw error;
  }
}

async function openRedisBus(url: string, prefix: string): Promise<ClusterBus> {
  const { RedisClusterBus } = await import('./redis-bus.js');
  const bus = new RedisClusterBus({ url, channel: `${prefix}.cluster` });
  await bus.start();
  return bus;
}
