import { Redis, ReplyError } from 'ioredis';
import { reconnectDelay } from '../../cluster/reconnect.js';
import { RedisHistory, STREAM_PARTS, STREAM_PUB } from '../history/redis.js';
import { FRAME_END, publicationFramePrefix } from '../history/types.js';
import type { AppendOptions, HistoryPage, HistoryQuery, StreamPosition } from '../history/types.js';
import type { ClientInfo } from '../protocol/types.js';
import { BrokerUnavailableError, presenceStats, type Broker, type BrokerHandler, type ControlMessage, type PresenceStore } from './types.js';

const PUB = 0x70; // 'p': publication for every subscriber
const JOIN_LEAVE = 0x6a; // 'j': join/leave for subscribers that asked for it

/** A command that could not reach Redis becomes {@link BrokerUnavailableError}; an answer of Redis (a script error) stays as it is. */
function asUnavailable(error: unknown): unknown {
  return error instanceof ReplyError ? error : new BrokerUnavailableError('the broker is unreachable', { cause: error });
}

export interface RedisBrokerOptions {
  readonly url: string;
  /** Key and channel prefix, so several deployments can share one Redis. Default `latchkey.gateway`. */
  readonly prefix?: string;
}

/**
 * Redis pub/sub broker: one Redis channel per gateway channel (subscribed while this node has local
 * subscribers) plus a control channel. Each message is one kind byte followed by the encoded push.
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis' as const;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #control: string;
  readonly #streams: RedisHistory;
  /** Redis channels this node receives (gateway channels with local subscribers), subscribed again after a loss. */
  readonly #channels = new Set<string>();

  constructor(options: RedisBrokerOptions) {
    this.#prefix = `${options.prefix ?? 'latchkey.gateway'}.ch.`;
    this.#control = `${options.prefix ?? 'latchkey.gateway'}.control`;
    // A publication is never queued while Redis is away: it fails at once (the server API answers 503),
    // instead of being acknowledged and then sent while the other nodes are still re-subscribing.
    this.#pub = new Redis(options.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, enableAutoPipelining: true, retryStrategy: reconnectDelay });
    // The subscriber subscribes again itself once a lost connection is back (not ioredis's
    // autoResubscribe), so it knows when every channel is received again and can say so.
    this.#sub = new Redis(options.url, { lazyConnect: true, autoResubscribe: false, retryStrategy: reconnectDelay });
    // Both reconnect by themselves; failures surface through publish.
    this.#pub.on('error', () => undefined);
    this.#sub.on('error', () => undefined);
    this.#streams = new RedisHistory(this.#pub, options.prefix ?? 'latchkey.gateway');
  }

  async start(handler: BrokerHandler): Promise<void> {
    this.#sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const name = channel.toString('utf8');
      if (name === this.#control) {
        try {
          handler.control(JSON.parse(message.toString('utf8')) as ControlMessage);
        } catch {
          // A foreign or damaged control message is ignored.
        }
        return;
      }
      if (!name.startsWith(this.#prefix) || message.length < 2) return;
      if (message[0] === STREAM_PUB || message[0] === STREAM_PARTS) {
        // `h<offset> <frame>` or `d<offset> <parts>`
        const space = message.indexOf(0x20);
        if (space === -1) return;
        const channelName = name.slice(this.#prefix.length);
        const offset = Number(message.toString('latin1', 1, space));
        if (message[0] === STREAM_PUB) {
          handler.deliver(channelName, message.subarray(space + 1), false, offset);
          return;
        }
        try {
          const { d: data, i: info, p: prev } = JSON.parse(message.toString('utf8', space + 1)) as { d: string; i?: string; p?: string };
          handler.deliver(channelName, Buffer.from(publicationFramePrefix(channelName, data, info) + offset + FRAME_END), false, offset, { data, info, prev });
        } catch {
          // A damaged message is dropped; positioned subscribers see the gap.
        }
        return;
      }
      handler.deliver(name.slice(this.#prefix.length), message.subarray(1), message[0] === JOIN_LEAVE, 0);
    });
    let connected = false;
    this.#sub.on('ready', () => {
      if (connected) void this.#resubscribe(handler);
      connected = true;
    });
    await Promise.all([this.#pub.connect(), this.#sub.connect()]);
    await this.#sub.subscribe(this.#control);
  }

  /**
   * Subscribes the control channel and every channel with local subscribers again, at once, on a
   * connection that came back; then, once the commanding connection is back too (the handler reads the
   * streams through it), tells the handler: publications made while this node was away from Redis never
   * reached it. A connection lost again meanwhile is handled on its next `ready`.
   */
  async #resubscribe(handler: BrokerHandler): Promise<void> {
    try {
      await this.#sub.subscribe(this.#control, ...this.#channels);
    } catch {
      return;
    }
    if (this.#pub.status !== 'ready') {
      const back = await new Promise<boolean>((resolve) => {
        const ready = () => {
          this.#sub.off('close', lost);
          resolve(true);
        };
        const lost = () => {
          this.#pub.off('ready', ready);
          resolve(false);
        };
        this.#pub.once('ready', ready);
        this.#sub.once('close', lost);
      });
      if (!back) return;
    }
    handler.resynced?.();
  }

  async publish(channel: string, frame: Buffer, joinLeave: boolean): Promise<void> {
    const message = Buffer.allocUnsafe(frame.length + 1);
    message[0] = joinLeave ? JOIN_LEAVE : PUB;
    frame.copy(message, 1);
    await this.#send(this.#prefix + channel, message);
  }

  async #send(channel: string, message: Buffer | string): Promise<void> {
    try {
      await this.#pub.publish(channel, message);
    } catch (error) {
      throw asUnavailable(error);
    }
  }
  async publishToStream(channel: string, data: string, info: string | undefined, options: AppendOptions): Promise<StreamPosition> {
    try {
      return await this.#streams.append(channel, this.#prefix + channel, data, info, options);
    } catch (error) {
      throw asUnavailable(error);
    }
  }
  history(channel: string, query: HistoryQuery): Promise<HistoryPage> {
    return this.#streams.read(channel, query);
  }
  removeHistory(channel: string): Promise<void> {
    return this.#streams.remove(channel);
  }
  async subscribe(channel: string): Promise<void> {
    this.#channels.add(this.#prefix + channel);
    await this.#sub.subscribe(this.#prefix + channel);
  }
  async unsubscribe(channel: string): Promise<void> {
    this.#channels.delete(this.#prefix + channel);
    await this.#sub.unsubscribe(this.#prefix + channel);
  }
  async control(message: ControlMessage): Promise<void> {
    await this.#send(this.#control, JSON.stringify(message));
  }
  async close(): Promise<void> {
    this.#sub.disconnect();
    this.#pub.disconnect();
  }
}

interface StoredPresence extends ClientInfo {
  /** Milliseconds since the epoch after which the entry is stale (its node stopped refreshing it). */
  exp: number;
}

/**
 * Presence in Redis hashes (`<prefix>.presence.<channel>`, field = client id). Entries carry their own
 * expiry; the owning node refreshes them, so a crashed node's clients disappear after `ttl`.
 */
export class RedisPresence implements PresenceStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #local = new Map<string, Map<string, ClientInfo>>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: RedisBrokerOptions & { readonly ttlSeconds?: number }) {
    this.#redis = new Redis(options.url, { maxRetriesPerRequest: 3, enableAutoPipelining: true });
    this.#redis.on('error', () => undefined);
    this.#prefix = `${options.prefix ?? 'latchkey.gateway'}.presence.`;
    this.#ttlMs = (options.ttlSeconds ?? 60) * 1000;
    this.#timer = setInterval(() => void this.#refresh().catch(() => undefined), this.#ttlMs / 3);
    this.#timer.unref();
  }

  async #write(channel: string, infos: readonly ClientInfo[]): Promise<void> {
    const key = this.#prefix + channel;
    const exp = Date.now() + this.#ttlMs;
    const fields: string[] = [];
    for (const info of infos) fields.push(info.client, JSON.stringify({ ...info, exp } satisfies StoredPresence));
    await this.#redis.multi().hset(key, ...fields).pexpire(key, this.#ttlMs).exec();
  }

  async #refresh(): Promise<void> {
    for (const [channel, entries] of this.#local) if (entries.size > 0) await this.#write(channel, [...entries.values()]);
  }

  async add(channel: string, info: ClientInfo): Promise<void> {
    let entries = this.#local.get(channel);
    if (!entries) {
      entries = new Map();
      this.#local.set(channel, entries);
    }
    entries.set(info.client, info);
    await this.#write(channel, [info]);
  }
  async remove(channel: string, client: string): Promise<void> {
    const entries = this.#local.get(channel);
    entries?.delete(client);
    if (entries?.size === 0) this.#local.delete(channel);
    await this.#redis.hdel(this.#prefix + channel, client);
  }
  async get(channel: string): Promise<Record<string, ClientInfo>> {
    const raw = await this.#redis.hgetall(this.#prefix + channel);
    const now = Date.now();
    const result: Record<string, ClientInfo> = {};
    const stale: string[] = [];
    for (const [client, text] of Object.entries(raw)) {
      try {
        const { exp, ...info } = JSON.parse(text) as StoredPresence;
        if (exp < now) stale.push(client);
        else result[client] = info;
      } catch {
        stale.push(client);
      }
    }
    if (stale.length > 0) await this.#redis.hdel(this.#prefix + channel, ...stale);
    return result;
  }
  async stats(channel: string): Promise<{ num_clients: number; num_users: number }> {
    return presenceStats(await this.get(channel));
  }
  async close(): Promise<void> {
    clearInterval(this.#timer);
    const pending = [...this.#local].filter(([, entries]) => entries.size > 0).map(([channel, entries]) => this.#redis.hdel(this.#prefix + channel, ...entries.keys()));
    await Promise.allSettled(pending);
    this.#local.clear();
    this.#redis.disconnect();
  }
}
