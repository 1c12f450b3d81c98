/**
 * What a connection needs of the node it runs on, and what the node sees of a connection. Type-only:
 * this module imports no implementation, so the session and the node never import each other.
 */
import type { Logger } from '../../logging/logger.js';
import type { GatewayClaims } from '../auth/claims.js';
import type { TokenVerifier } from '../auth/verifier.js';
import type { Broker, PresenceStore } from '../broker/types.js';
import type { StreamPosition } from '../history/types.js';
import type { ProtocolCodec } from '../protocol/codec.js';
import type { ClientInfo, JsonValue } from '../protocol/types.js';
import type { RevocationEffect } from '../revocation/known.js';
import type { SelectorKey } from '../revocation/selectors.js';
import type { ProxyCaller } from '../rpc/registry.js';
import type { GatewaySettings } from '../settings.js';

/** What the hub writes to: one connection. */
export interface Subscriber {
  /** The connection's wire format: frames written to it are encoded with this codec. */
  readonly codec: ProtocolCodec;
  /** Writes a frame already encoded in the subscriber's format (a complete push, or several). */
  write(frame: Buffer): void;
  /**
   * A positioned subscription of `channel` missed publications: the client is told to subscribe again
   * and recover (unsubscribe 2500; a server-side subscription closes the connection with 3010).
   */
  lostPosition(channel: string): void;
}

/** How a reserved subscriber goes live. */
export interface Activation {
  /** Also gets join/leave pushes. */
  readonly joinLeave: boolean;
  /** The last offset its subscribe reply accounted for; `null`: it does not follow the stream. */
  readonly position: number | null;
  /**
   * It negotiated fossil deltas: `null` if not; `true` when its subscribe reply carried the previous
   * publication (the next may come as a delta), `false` when the next must come in full.
   */
  readonly delta: boolean | null;
  /** The stream's epoch its subscribe reply named (positioned subscribers). */
  readonly epoch?: string;
}

/** The node's channel → subscribers index, as a subscription uses it. */
export interface ChannelHub {
  /** Takes a place on `channel` and waits until the broker delivers it; frames meanwhile are held. */
  reserve(channel: string, subscriber: Subscriber): Promise<void>;
  /** Moves a reserved subscriber to live delivery; false (nothing made live) when its position was lost. */
  activate(channel: string, subscriber: Subscriber, activation: Activation): boolean;
  /** Ends a reservation or a live subscription. */
  remove(channel: string, subscriber: Subscriber): void;
}

/** What the node sees of one connection. */
export interface NodeConnection {
  readonly id: string;
  /** The token's subject (`''`: anonymous). */
  readonly user: string;
  readonly claims: GatewayClaims | null;
  /** Where the node's revocation index files this connection (from {@link claims}). */
  readonly selectorKeys: readonly SelectorKey[];
  /** `connect` succeeded and the connection is open. */
  readonly connected: boolean;
  /** Accepted without a token: only the sign-in RPCs, for a limited time. */
  readonly restricted: boolean;
  /** The node's ticker: stale, ping/pong and expiry checks. */
  tick(now: number): void;
  /** Closes the socket with `code` and leaves every channel. */
  disconnect(code: number, reason?: string): void;
  /** Ends every subscription to `organization`'s channels (unsubscribe 2001). */
  endOrganization(organization: string): void;
}

/** What a connection needs of its node. */
export interface SessionNode {
  readonly settings: GatewaySettings;
  readonly version: string;
  readonly logger: Logger;
  readonly verifier: TokenVerifier;
  readonly subscriptionVerifier: TokenVerifier;
  readonly broker: Broker;
  readonly presence: PresenceStore;
  readonly hub: ChannelHub;
  readonly rpc: { call(method: string, data: JsonValue | undefined, caller: ProxyCaller): Promise<JsonValue | undefined> };
  /** Unexpired revocation events. */
  readonly revocations: {
    refusal(claims: GatewayClaims | null): RevocationEffect | null;
    membershipEnded(claims: GatewayClaims | null, organization: string): boolean;
  };
  /** Organization membership as the database lists it (cached). */
  readonly membership: { isMember(user: string, organization: string): Promise<boolean> };
  /** Takes a place for a restricted connection; false when the limit is reached. */
  admitRestricted(): boolean;
  /** The connection finished `connect`: findable by user and by its token's selectors. */
  attach(connection: NodeConnection): void;
  /** The connection's token changed: filed under the new selectors. */
  reindex(connection: NodeConnection, previous: readonly SelectorKey[]): void;
  /** The connection closed. */
  detach(connection: NodeConnection, wasConnected: boolean): void;
  /** A `send` command's data, for the node's send handlers. */
  onSend(connection: NodeConnection, data: JsonValue | undefined): void;
  /** Publishes already-JSON data to a channel on every node. */
  publishJson(channel: string, dataJson: string, info?: ClientInfo, options?: { readonly skipHistory?: boolean }): Promise<StreamPosition | null>;
  /** Publishes a join or leave message on a channel (to the subscribers that asked for them). */
  announce(channel: string, kind: 'join' | 'leave', info: ClientInfo): void;
  /** Counts live subscriptions for the node's figures. */
  countSubscriptions(delta: 1 | -1): void;
}
