/**
 * A connection's subscriptions, each owned here for its whole life: the place reserved on the node's
 * hub while the subscribe is answered, going live (delivery, presence, join message), and ending
 * (delivery, presence, leave message).
 */
import type { ResolvedChannel } from '../channels/resolve.js';
import type { ClientInfo, JsonValue } from '../protocol/types.js';
import type { SessionNode, Subscriber } from './contracts.js';

/** One subscription of a connection. */
export interface Subscription {
  readonly resolved: ResolvedChannel;
  /** What allowed it: the connection's claims, a subscription token, the token's `channels` (server-side) or the subscribe proxy. */
  readonly source: 'claims' | 'token' | 'server' | 'proxy';
  /** Channel info from a subscription token, shown in presence and publications. */
  readonly chanInfo: JsonValue | undefined;
  /** Seconds since the epoch; 0 = no expiry. */
  readonly expireAt: number;
}

/** How a reserved subscription goes live. */
export interface Going {
  readonly resolved: ResolvedChannel;
  readonly source: Subscription['source'];
  readonly chanInfo: JsonValue | undefined;
  readonly expireAt: number;
  /** The client asked for join/leave pushes (and may have them). */
  readonly askedJoinLeave: boolean;
  /** Stream position and delta negotiation from the subscribe reply. */
  readonly stream?: { readonly position: number | null; readonly delta: boolean | null; readonly epoch?: string };
}

interface Entry extends Subscription {
  expireAt: number;
}

/** The connection's channels: live ones, and those whose subscribe is in flight. */
export class Subscriptions {
  readonly #node: SessionNode;
  readonly #subscriber: Subscriber;
  readonly #identity: { clientInfo(chanInfo?: JsonValue): ClientInfo };
  readonly #live = new Map<string, Entry>();
  /** Channels with an in-flight subscribe. */
  #subscribing: Set<string> | null = null;
  /** Live subscriptions with an expiry. */
  #expiring = 0;

  /** @param identity Who the connection is, as presence and join/leave messages show it. */
  constructor(node: SessionNode, subscriber: Subscriber, identity: { clientInfo(chanInfo?: JsonValue): ClientInfo }) {
    this.#node = node;
    this.#subscriber = subscriber;
    this.#identity = identity;
  }

  /** Live subscriptions plus those in flight (for the channel limit). */
  get count(): number {
    return this.#live.size + (this.#subscribing?.size ?? 0);
  }

  /** Whether any live subscription has an expiry. */
  get expiring(): boolean {
    return this.#expiring > 0;
  }

  /** The live subscription to `channel`. */
  get(channel: string): Subscription | undefined {
    return this.#live.get(channel);
  }

  /** Live or in flight. */
  taken(channel: string): boolean {
    return this.#live.has(channel) || this.#subscribing?.has(channel) === true;
  }

  /** Live subscriptions (a copy: ending one while iterating is safe). */
  list(): Subscription[] {
    return [...this.#live.values()];
  }

  /** Marks `channel`'s subscribe as in flight while `work` runs. */
  async during<T>(channel: string, work: () => Promise<T>): Promise<T> {
    const subscribing = (this.#subscribing ??= new Set());
    subscribing.add(channel);
    try {
      return await work();
    } finally {
      subscribing.delete(channel);
    }
  }

  /** Takes a place on the hub for `channel` (frames meanwhile are held until {@link activate}). */
  async reserve(channel: string): Promise<void> {
    try {
      await this.#node.hub.reserve(channel, this.#subscriber);
    } catch (error) {
      this.#node.hub.remove(channel, this.#subscriber);
      throw error;
    }
  }

  /** Gives up a reservation (the subscribe failed or the connection closed meanwhile). */
  abandon(channel: string): void {
    this.#node.hub.remove(channel, this.#subscriber);
  }

  /**
   * Makes a reserved subscription live: delivery (held frames first), presence, join message. Returns
   * false, with nothing live, when publications after the reply's stream position were lost meanwhile.
   */
  activate(going: Going): boolean {
    const { resolved, chanInfo } = going;
    const ns = resolved.namespace;
    const channel = resolved.channel;
    const pushJoinLeave = ns.join_leave && (ns.force_push_join_leave || going.askedJoinLeave);
    const stream = going.stream ?? { position: null, delta: null };
    const entry: Entry = { resolved, source: going.source, chanInfo, expireAt: going.expireAt };
    this.#live.set(channel, entry);
    if (entry.expireAt > 0) this.#expiring += 1;
    if (!this.#node.hub.activate(channel, this.#subscriber, { joinLeave: pushJoinLeave, position: stream.position, delta: stream.delta, ...(stream.epoch ? { epoch: stream.epoch } : {}) })) {
      this.#forget(channel, entry);
      return false;
    }
    this.#node.countSubscriptions(1);
    const node = this.#node;
    if (ns.presence || ns.join_leave) {
      const info = this.#identity.clientInfo(chanInfo);
      if (ns.presence) void node.presence.add(channel, info).catch((error: unknown) => node.logger.warn({ err: error, channel }, 'presence update failed'));
      if (ns.join_leave) node.announce(channel, 'join', info);
    }
    return true;
  }

  /** Sets a live subscription's expiry (refreshed by a subscription token or the sub-refresh proxy). */
  extend(subscription: Subscription, expireAt: number): void {
    const entry = this.#live.get(subscription.resolved.channel);
    if (entry !== subscription) return;
    if (entry.expireAt > 0) this.#expiring -= 1;
    entry.expireAt = expireAt;
    if (expireAt > 0) this.#expiring += 1;
  }

  /** Ends a live subscription: delivery, presence, leave message. False when it was not live. */
  remove(subscription: Subscription): boolean {
    const channel = subscription.resolved.channel;
    const entry = this.#live.get(channel);
    if (entry !== subscription) return false;
    this.#forget(channel, entry);
    const node = this.#node;
    const ns = entry.resolved.namespace;
    node.countSubscriptions(-1);
    node.hub.remove(channel, this.#subscriber);
    if (ns.presence) void node.presence.remove(channel, this.#identity.clientInfo().client).catch((error: unknown) => node.logger.warn({ err: error, channel }, 'presence update failed'));
    if (ns.join_leave) node.announce(channel, 'leave', this.#identity.clientInfo(entry.chanInfo));
    return true;
  }

  /** Ends every live subscription (the connection closed). */
  removeAll(): void {
    for (const subscription of this.list()) this.remove(subscription);
  }

  #forget(channel: string, entry: Entry): void {
    this.#live.delete(channel);
    if (entry.expireAt > 0) this.#expiring -= 1;
  }
}
