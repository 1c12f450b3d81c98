import type { ClientInfo } from '../protocol/types.js';
import { presenceStats, type Broker, type BrokerHandler, type ControlMessage, type PresenceStore } from './types.js';

/** Single-process broker: publications go straight to this node's subscribers. */
export class MemoryBroker implements Broker {
  readonly kind = 'memory' as const;
  #handler: BrokerHandler | undefined;

  async start(handler: BrokerHandler): Promise<void> {
    this.#handler = handler;
  }
  async publish(channel: string, frame: Buffer, joinLeave: boolean): Promise<void> {
    this.#handler?.deliver(channel, frame, joinLeave);
  }
  async subscribe(): Promise<void> {}
  async unsubscribe(): Promise<void> {}
  async control(message: ControlMessage): Promise<void> {
    this.#handler?.control(message);
  }
  async close(): Promise<void> {
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
