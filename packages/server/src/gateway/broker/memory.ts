import { MemoryHistory } from '../history/memory.js';
import { FRAME_END, publicationFramePrefix, type AppendOptions, type HistoryPage, type HistoryQuery, type StreamPosition } from '../history/types.js';
import type { ClientInfo } from '../protocol/types.js';
import { presenceStats, type Broker, type BrokerHandler, type ControlMessage, type PresenceStore } from './types.js';

/** Single-process broker: publications go straight to this node's subscribers. */
export class MemoryBroker implements Broker {
  readonly kind = 'memory' as const;
  #handler: BrokerHandler | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  /** Channel streams (the memory engine's history). */
  readonly streams: MemoryHistory;
  constructor(now: () => number = Date.now) {
    this.streams = new MemoryHistory(now);
  }

  async start(handler: BrokerHandler): Promise<void> {
    this.#handler = handler;
    this.#sweeper = setInterval(() => this.streams.sweep(), 1000);
    this.#sweeper.unref();
  }
  async publish(channel: string, frame: Buffer, joinLeave: boolean): Promise<void> {
    this.#handler?.deliver(channel, frame, joinLeave, 0);
  }
  async publishToStream(channel: string, data: string, info: string | undefined, options: AppendOptions): Promise<StreamPosition> {
    const { prev, ...position } = this.streams.append(channel, data, info, options, options.delivery === 'delta');
    const frame = Buffer.from(publicationFramePrefix(channel, data, info) + position.offset + FRAME_END);
    this.#handler?.deliver(channel, frame, false, position.offset, options.delivery === 'plain' ? undefined : { data, info, prev });
    return position;
  }
  async history(channel: string, query: HistoryQuery): Promise<HistoryPage> {
    return this.streams.read(channel, query);
  }
  async removeHistory(channel: string): Promise<void> {
    this.streams.remove(channel);
  }
  async subscribe(): Promise<void> {}
  async unsubscribe(): Promise<void> {}
  async control(message: ControlMessage): Promise<void> {
    this.#handler?.control(message);
  }
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#handler = undefined;
  }
}

/** Presence kept in this process. */
export class MemoryPresence implements PresenceStore {
  readonly #channels = new Map<string, Map<string, ClientInfo>>();

  async add(channel: string, info: ClientInfo): Promise<void> {
    let entries = this.#channels.get(channel);
    if (!entries) {
      entries = new Map();
      this.#channels.set(channel, entries);
    }
    entries.set(info.client, info);
  }
  async remove(channel: string, client: string): Promise<void> {
    const entries = this.#channels.get(channel);
    if (!entries) return;
    entries.delete(client);
    if (entries.size === 0) this.#channels.delete(channel);
  }
  async get(channel: string): Promise<Record<string, ClientInfo>> {
    return Object.fromEntries(this.#channels.get(channel) ?? []);
  }
  async stats(channel: string): Promise<{ num_clients: number; num_users: number }> {
    return presenceStats(await this.get(channel));
  }
  async close(): Promise<void> {
    this.#channels.clear();
  }
}
