import type { PublicationParts } from '../delta/fossil.js';
import type { AppendOptions, HistoryPage, HistoryQuery, StreamPosition } from '../history/types.js';
import type { ClientInfo } from '../protocol/types.js';

/** Node-wide orders that every gateway node must see (server API disconnects, node announcements). */
export type ControlMessage =
  | { readonly type: 'disconnect'; readonly user: string; readonly client?: string; readonly whitelist?: readonly string[]; readonly code: number; readonly reason: string }
  | { readonly type: 'node'; readonly node: NodeInfo };

/** A node as `/api/info` reports it. */
export interface NodeInfo {
  uid: string;
  name: string;
  version: string;
  num_clients: number;
  num_users: number;
  num_subs: number;
  num_channels: number;
  uptime: number;
}

/**
 * The broker could not take a message (Redis unreachable): nothing was sent. The server API answers 503
 * with `Retry-After`; connected clients stay connected.
 */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
  readonly code = 'ERR_BROKER_UNAVAILABLE';
}

/** What a broker calls back into. */
export interface BrokerHandler {
  /**
   * A frame for every local subscriber of `channel` (`joinLeave`: only those who asked for join/leave).
   * `offset` is the publication's place in the channel's stream (0 when it has none); `parts` come with
   * publications on channels that allow deltas.
   */
  deliver(channel: string, frame: Buffer, joinLeave: boolean, offset: number, parts?: PublicationParts): void;
  control(message: ControlMessage): void;
  /**
   * The broker lost its connection and has subscribed every channel again: publications made meanwhile
   * did not reach this node, and positioned subscribers must be checked against the streams.
   */
  resynced?(): void;
}

/**
 * Moves encoded pushes between nodes. Each publication is encoded once per channel by the publisher
 * and handed around as bytes; nodes write the same bytes to each local subscriber.
 */
export interface Broker {
  readonly kind: 'memory' | 'redis';
  start(handler: BrokerHandler): Promise<void>;
  /** Sends `frame` to every node with subscribers of `channel`. */
  publish(channel: string, frame: Buffer, joinLeave: boolean): Promise<void>;
  /** Starts receiving `channel` on this node. */
  subscribe(channel: string): Promise<void>;
  /** Stops receiving `channel` on this node. */
  unsubscribe(channel: string): Promise<void>;
  control(message: ControlMessage): Promise<void>;
  /**
   * Appends a publication (`data` and `info` as JSON text) to the channel's stream and sends it, with
   * its offset, to every node with subscribers of `channel` — in offset order.
   */
  publishToStream(channel: string, data: string, info: string | undefined, options: AppendOptions): Promise<StreamPosition>;
  /** Reads the channel's stream; throws `UnrecoverablePositionError` when `since` names another epoch. */
  history(channel: string, query: HistoryQuery): Promise<HistoryPage>;
  /** Drops the channel's kept publications (offset and epoch stay). */
  removeHistory(channel: string): Promise<void>;
  close(): Promise<void>;
}

/** Who is subscribed to presence-enabled channels, across nodes. */
export interface PresenceStore {
  add(channel: string, info: ClientInfo): Promise<void>;
  remove(channel: string, client: string): Promise<void>;
  get(channel: string): Promise<Record<string, ClientInfo>>;
  stats(channel: string): Promise<{ num_clients: number; num_users: number }>;
  close(): Promise<void>;
}

/** Counts clients and distinct users (anonymous `""` counts as one user). */
export function presenceStats(presence: Record<string, ClientInfo>): { num_clients: number; num_users: number } {
  const users = new Set<string>();
  let clients = 0;
  for (const entry of Object.values(presence)) {
    clients += 1;
    users.add(entry.user);
  }
  return { num_clients: clients, num_users: users.size };
}
