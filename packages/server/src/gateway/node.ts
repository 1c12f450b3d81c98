import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RevocationEvent } from '@latchkey/verify';
import type { Logger } from '../logging/logger.js';
import type { TokenVerifier } from './auth/verifier.js';
import type { Broker, ControlMessage, NodeInfo, PresenceStore } from './broker/types.js';
import { keepsHistory } from './channels/options.js';
import { resolveChannel } from './channels/resolve.js';
import { streamOptions } from './history/position.js';
import type { StreamPosition } from './history/types.js';
import { Hub } from './hub.js';
import { MembershipCache, type MembershipSource } from './membership/cache.js';
import { DISCONNECT_REASONS, DisconnectCode } from './protocol/codes.js';
import { KnownRevocations, REVOCATION_EFFECTS } from './revocation/known.js';
import { eventKeys, eventRefuses, SelectorIndex, type SelectorKey } from './revocation/selectors.js';
import type { ClientInfo, JsonValue } from './protocol/types.js';
import type { RpcRegistry } from './rpc/registry.js';
import type { NodeConnection, SessionNode } from './session/contracts.js';
import type { GatewaySettings } from './settings.js';

/** Called with the `data` of `send` commands (fire-and-forget messages from clients). */
export type SendHandler = (data: JsonValue | undefined, client: { readonly client: string; readonly user: string }) => void;

export interface GatewayNodeOptions {
  readonly settings: GatewaySettings;
  readonly verifier: TokenVerifier;
  readonly subscriptionVerifier: TokenVerifier;
  readonly broker: Broker;
  readonly presence: PresenceStore;
  readonly rpc: RpcRegistry;
  readonly logger: Logger;
  readonly version: string;
  /** Where organization membership is read when `settings.organizationMembership` is `database`. */
  readonly membership: MembershipSource;
}

/** Encodes a publication push once; the result is written as is to every subscriber. */
export function encodePublication(channel: string, dataJson: string, info?: ClientInfo): Buffer {
  const infoPart = info ? `,"info":${JSON.stringify(info)}` : '';
  return Buffer.from(`{"push":{"channel":${JSON.stringify(channel)},"pub":{"data":${dataJson}${infoPart}}}}`);
}

/**
 * The gateway on one process: connections, channel index, presence, broker, and one ticker that drives
 * stale, ping/pong and expiry checks for every connection (no timer per connection).
 */
export class GatewayNode implements SessionNode {
  readonly settings: GatewaySettings;
  readonly verifier: TokenVerifier;
  readonly subscriptionVerifier: TokenVerifier;
  readonly broker: Broker;
  readonly presence: PresenceStore;
  readonly rpc: RpcRegistry;
  readonly logger: Logger;
  readonly version: string;
  readonly hub: Hub;
  /** Unexpired revocation events, for connects and refreshes with tokens they refuse. */
  readonly revocations = new KnownRevocations();
  readonly membership: MembershipCache;
  readonly uid = randomUUID();
  readonly name = `${hostname()}_${process.pid}`;
  readonly sessions = new Set<NodeConnection>();
  /** Connected sessions by user. */
  readonly #users = new SelectorIndex<NodeConnection>();
  /** Connected sessions by their token's user, session, OAuth client and organization. */
  readonly #bySelector = new SelectorIndex<NodeConnection>();
  readonly #sendHandlers = new Set<SendHandler>();
  readonly #otherNodes = new Map<string, { info: NodeInfo; seenAt: number }>();
  readonly #started = Date.now();
  #connected = 0;
  /** Restricted (token-less) connections open now. */
  #restricted = 0;
  #subs = 0;
  #ticker: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: GatewayNodeOptions) {
    this.settings = options.settings;
    this.verifier = options.verifier;
    this.subscriptionVerifier = options.subscriptionVerifier;
    this.broker = options.broker;
    this.presence = options.presence;
    this.rpc = options.rpc;
    this.logger = options.logger;
    this.version = options.version;
    this.hub = new Hub(options.broker);
    this.membership = new MembershipCache(options.membership, options.settings.membershipCacheTtl);
  }

  async start(): Promise<void> {
    await this.broker.start({
      deliver: (channel, frame, joinLeave, offset, parts) => this.hub.deliver(channel, frame, joinLeave, offset, parts),
      control: (message) => this.#onControl(message),
      resynced: () =>
        void this.hub
          .resync((channel) => this.broker.history(channel, { limit: 0, reverse: false, metaTtl: 0 }))
          .catch((error: unknown) => this.logger.warn({ err: error }, 'stream positions not checked after the broker reconnected')),
    });
    const s = this.settings;
    const shortest = Math.min(...[s.pingInterval, s.pongTimeout, s.staleCloseDelay, s.expiredCloseDelay || 1, s.expiredSubCloseDelay || 1].filter((v) => v > 0));
    const tickMs = Math.max(20, Math.min(1000, (shortest * 1000) / 4));
    let pruneAt = 0;
    this.#ticker = setInterval(() => {
      const now = Date.now();
      for (const session of this.sessions) session.tick(now);
      if (now >= pruneAt) {
        pruneAt = now + 30_000;
        this.revocations.prune(now / 1000);
      }
    }, tickMs);
    this.#ticker.unref();
    if (this.broker.kind === 'redis') {
      const announce = () => void this.broker.control({ type: 'node', node: this.info() }).catch(() => undefined);
      announce();
      this.#heartbeat = setInterval(announce, 5000);
      this.#heartbeat.unref();
    }
  }

  /** Registers a connection the moment its socket opens. */
  add(session: NodeConnection): void {
    this.sessions.add(session);
  }

  /**
   * Takes a place for a restricted (token-less) connection; false when
   * `authRpcMaxConnections` are open already. The place is given back when the connection closes.
   */
  admitRestricted(): boolean {
    if (this.#restricted >= this.settings.authRpcMaxConnections) return false;
    this.#restricted += 1;
    return true;
  }

  /** A connection finished `connect`. */
  attach(session: NodeConnection): void {
    this.#connected += 1;
    this.#users.add([session.user], session);
    this.#bySelector.add(session.selectorKeys, session);
  }

  /** The session's token changed (in-band refresh): files it under the new token's selectors. */
  reindex(session: NodeConnection, previous: readonly SelectorKey[]): void {
    if (!session.connected) return;
    this.#bySelector.delete(previous, session);
    this.#bySelector.add(session.selectorKeys, session);
  }

  /** A connection closed. */
  detach(session: NodeConnection, wasConnected: boolean): void {
    this.sessions.delete(session);
    if (session.restricted) this.#restricted -= 1;
    if (!wasConnected) return;
    this.#connected -= 1;
    this.#bySelector.delete(session.selectorKeys, session);
    this.#users.delete([session.user], session);
  }

  /** Counts live subscriptions for {@link info}. */
  countSubscriptions(delta: 1 | -1): void {
    this.#subs += delta;
  }

  /** Publishes a join or leave message on `channel` (to the subscribers that asked for them), on every node. */
  announce(channel: string, kind: 'join' | 'leave', info: ClientInfo): void {
    void this.#publishJoinLeave(channel, kind, info);
  }

  async #publishJoinLeave(channel: string, kind: 'join' | 'leave', info: ClientInfo): Promise<void> {
    const frame = Buffer.from(`{"push":{"channel":${JSON.stringify(channel)},"${kind}":{"info":${JSON.stringify(info)}}}}`);
    await this.broker.publish(channel, frame, true).catch((error: unknown) => this.logger.warn({ err: error, channel }, `${kind} message failed`));
  }

  /**
   * Publishes `data` to `channel` on every node. On a channel whose namespace keeps history the
   * publication is appended to the channel's stream first; its position is returned (`null` otherwise).
   */
  async publish(channel: string, data: unknown, info?: ClientInfo): Promise<StreamPosition | null> {
    const json = JSON.stringify(data);
    if (json === undefined) throw new TypeError('data must be JSON');
    return this.publishJson(channel, json, info);
  }

  /**
   * Publishes data that is already JSON text (`skipHistory`: not kept even where history is on; `delta`:
   * subscribers with fossil deltas get a delta against the previous publication — always so where the
   * namespace sets `delta_publish`).
   */
  async publishJson(channel: string, dataJson: string, info?: ClientInfo, options: { readonly skipHistory?: boolean; readonly delta?: boolean } = {}): Promise<StreamPosition | null> {
    const resolved = resolveChannel(this.settings.channels, channel);
    if (typeof resolved !== 'number' && keepsHistory(resolved.namespace) && options.skipHistory !== true) {
      const ns = resolved.namespace;
      const delivery = ns.allowed_delta_types.length === 0 ? 'plain' : options.delta === true || ns.delta_publish ? 'delta' : 'parts';
      return this.broker.publishToStream(channel, dataJson, info === undefined ? undefined : JSON.stringify(info), { ...streamOptions(ns, this.settings.channels), delivery });
    }
    await this.broker.publish(channel, encodePublication(channel, dataJson, info), false);
    return null;
  }

  /** Disconnects a user's connections on every node. */
  async disconnectUser(user: string, options: { client?: string; whitelist?: readonly string[]; code?: number; reason?: string } = {}): Promise<void> {
    const code = options.code ?? DisconnectCode.ForceDisconnect;
    await this.broker.control({
      type: 'disconnect',
      user,
      ...(options.client ? { client: options.client } : {}),
      ...(options.whitelist ? { whitelist: options.whitelist } : {}),
      code,
      reason: options.reason ?? DISCONNECT_REASONS[code as DisconnectCode] ?? 'force disconnect',
    });
  }

  /**
   * Acts on a revocation event (every node receives every event): remembers it for later connects,
   * drops the membership answers it may have changed, and applies it to the connections whose token it
   * matches — found through the selector index, not by scanning every connection. Session-ending kinds
   * close with 4501, `membership_removed` / `organization_deleted` end the organization's channels with
   * unsubscribe 2001 (a removed member's on all of their connections, whatever organization their
   * token names), `role_changed` closes with 3014 so the client fetches a new token.
   */
  applyRevocation(event: RevocationEvent): void {
    this.membership.invalidate(event);
    if (!this.revocations.add(event)) return;
    const effect = REVOCATION_EFFECTS[event.kind];
    // The organization a member left: they lose its channels on every connection of theirs, also those a
    // subscription token granted on a connection whose token names another organization.
    const left = effect === 'end_membership' && event.user_id !== null ? event.organization_id : null;
    for (const session of this.#bySelector.find(eventKeys(event))) {
      if (left !== null) session.endOrganization(left);
      else if (!eventRefuses(event, session.claims)) continue;
      else if (effect === 'end_session') session.disconnect(DisconnectCode.SessionEnded);
      else if (effect === 'refresh_token') session.disconnect(DisconnectCode.StateInvalidated);
      else if (event.organization_id !== null) session.endOrganization(event.organization_id);
    }
  }

  #onControl(message: ControlMessage): void {
    if (message.type === 'disconnect') {
      for (const session of this.#users.find([message.user])) {
        if (message.client && session.id !== message.client) continue;
        if (message.whitelist?.includes(session.id)) continue;
        session.disconnect(message.code, message.reason);
      }
    } else if (message.type === 'node' && message.node.uid !== this.uid) {
      this.#otherNodes.set(message.node.uid, { info: message.node, seenAt: Date.now() });
    }
  }

  onSend(session: NodeConnection, data: JsonValue | undefined): void {
    for (const handler of this.#sendHandlers) {
      try {
        handler(data, { client: session.id, user: session.user });
      } catch (error) {
        this.logger.warn({ err: error }, 'send handler failed');
      }
    }
  }

  addSendHandler(handler: SendHandler): void {
    this.#sendHandlers.add(handler);
  }

  /** This node's figures for `/api/info`. */
  info(): NodeInfo {
    return {
      uid: this.uid,
      name: this.name,
      version: this.version,
      num_clients: this.#connected,
      num_users: this.#users.size,
      num_subs: this.#subs,
      num_channels: this.hub.channelCount,
      uptime: Math.floor((Date.now() - this.#started) / 1000),
    };
  }

  /** Every node seen in the last 15 seconds, this one first. */
  nodes(): NodeInfo[] {
    const now = Date.now();
    const others = [...this.#otherNodes.values()].filter((entry) => now - entry.seenAt < 15_000).map((entry) => entry.info);
    return [this.info(), ...others];
  }

  /** Closes every connection with 3001 (clients reconnect elsewhere) and stops background work. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#ticker);
      clearInterval(this.#heartbeat);
      for (const session of [...this.sessions]) session.disconnect(DisconnectCode.Shutdown);
      await this.presence.close().catch(() => undefined);
      await this.broker.close().catch(() => undefined);
    })();
    return this.#closing;
  }
}
