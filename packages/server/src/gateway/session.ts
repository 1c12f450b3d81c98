import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { allowedWhileRestricted } from './auth-rpc/restricted.js';
import { checkClaims, TokenRejectedError, type GatewayClaims } from './auth/claims.js';
import { organizationOf, resolveChannel, type ResolvedChannel } from './channels/resolve.js';
import type { GatewayNode } from './node.js';
import { DISCONNECT_REASONS, DisconnectCode, ErrorCode, UNSUBSCRIBE_REASONS, UnsubscribeCode } from './protocol/codes.js';
import { decodeCommands, encodeError, encodePush, encodeResult, MalformedFrameError, PING_FRAME, type DecodedCommand } from './protocol/codec.js';
import { claimKeys, type SelectorKey } from './revocation/selectors.js';
import type {
  ChannelRequest,
  ClientInfo,
  HistoryRequest,
  Command,
  ConnectRequest,
  ConnectResult,
  JsonValue,
  PublishRequest,
  RpcRequest,
  SubRefreshRequest,
  SubscribeRequest,
  SubscribeResult,
  TokenRequest,
} from './protocol/types.js';
import { keepsHistory } from './channels/options.js';
import { historyQuery, historyResult, positionSubscription, streamOptions, type StreamSubscribe } from './history/position.js';
import type { Subscriber } from './hub.js';
import { proxyConnect, proxyPublish, proxyRefresh, proxySubscribe } from './proxy/calls.js';
import type { ProxyCaller } from './proxy/http.js';
import { DisconnectError, ReplyError } from './rpc/errors.js';

const TEXT = { binary: false } as const;

/** One subscription of a connection. */
interface Subscription {
  readonly resolved: ResolvedChannel;
  /** What allowed it: the connection's claims, a subscription token, or the token's `channels` (server-side). */
  readonly source: 'claims' | 'token' | 'server' | 'proxy';
  /** Channel info from a subscription token, shown in presence and publications. */
  readonly chanInfo: JsonValue | undefined;
  /** Seconds since the epoch; 0 = no expiry. */
  expireAt: number;
  readonly presence: boolean;
  readonly joinLeave: boolean;
}

type State = 'new' | 'connected' | 'failed' | 'closed';

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Whole seconds until `expireAt`, rounded down from the exact remaining time, so a client that refreshes
 * after `ttl` seconds is never late (a rounded-up ttl would eat up to a second of the grace period).
 */
const ttlUntil = (expireAt: number) => Math.max(0, Math.floor(expireAt - Date.now() / 1000));

/** Type guard for request bodies' string fields. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** One WebSocket connection speaking the client protocol. */
export class Session implements Subscriber {
  readonly id = randomUUID();
  state: State = 'new';
  user = '';
  claims: GatewayClaims | null = null;
  /** Where the node's index files this connection (from {@link claims}). */
  selectorKeys: SelectorKey[] = [];
  /** Connection info (`info` claim) shown to others. */
  info: JsonValue | undefined;
  meta: JsonValue | undefined;
  /** Connection expiry (s since epoch); 0 = none. */
  expireAt = 0;
  /**
   * When a connection accepted without a token (only `auth.*` RPCs allowed) is closed, in milliseconds
   * since the epoch; 0 = not restricted.
   */
  restrictedUntil = 0;
  readonly subs = new Map<string, Subscription>();
  /** Channels with an in-flight subscribe. */
  readonly #subscribing = new Set<string>();
  /** Subscriptions with a token expiry. */
  expiringSubs = 0;
  /** Milliseconds timestamps maintained by the node's ticker. */
  staleAt: number;
  nextPingAt = 0;
  /** A ping was sent and its pong has not arrived. */
  pongPending = false;
  /** When the pending pong is overdue (0 = not checked). */
  pongDeadline = 0;
  #queue: string[] | null = null;
  #busy = false;
  /** Replies collected while a frame is processed, written together as one frame (`null` between frames). */
  #replies: string[] | null = null;

  constructor(
    readonly node: GatewayNode,
    readonly ws: WebSocket,
    readonly headers: Readonly<Record<string, string>>,
    /** The socket's peer address (the client, or the proxy in front of it). */
    readonly address = '',
  ) {
    this.staleAt = Date.now() + node.settings.staleCloseDelay * 1000;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('close', () => this.#cleanup());
    ws.on('error', () => this.#cleanup());
  }

  /** Identity as shown in presence, join/leave and client publications. */
  clientInfo(chanInfo?: JsonValue): ClientInfo {
    const info: ClientInfo = { user: this.user, client: this.id };
    if (this.info !== undefined) info.conn_info = this.info;
    if (chanInfo !== undefined) info.chan_info = chanInfo;
    return info;
  }

  /** Hub delivery: writes a shared, already-encoded frame. Slow readers are closed with 3008. */
  write(frame: Buffer): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    // Replies of the frame being processed go first (a subscribe reply precedes the channel's pushes).
    if (this.#replies !== null && this.#replies.length > 0) this.#flushReplies();
    if (ws.bufferedAmount > this.node.settings.queueMaxSize) {
      this.disconnect(DisconnectCode.Slow);
      return;
    }
    ws.send(frame, TEXT);
  }

  /**
   * Hub: a positioned subscription missed publications. As Centrifugo does, a client-side subscription
   * is ended with unsubscribe 2500 (the client subscribes again and recovers; the socket stays open); a
   * server-side one, which the client cannot subscribe again, closes the connection with 3010.
   */
  lostPosition(channel: string): void {
    const sub = this.subs.get(channel);
    if (sub && sub.source !== 'server') this.endSubscription(channel, UnsubscribeCode.InsufficientState);
    else this.disconnect(DisconnectCode.InsufficientState);
  }

  #send(text: string): void {
    if (this.#replies !== null) this.#replies.push(text);
    else if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  /** Writes the collected replies as one newline-joined frame. */
  #flushReplies(): void {
    const replies = this.#replies;
    if (replies === null || replies.length === 0) return;
    this.#replies = [];
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(replies.length === 1 ? replies[0]! : replies.join('\n'));
  }

  /** Sends the server ping (an empty reply). */
  ping(now: number): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(PING_FRAME);
    this.nextPingAt = now + this.node.settings.pingInterval * 1000;
    this.pongPending = true;
    if (this.node.settings.pongTimeout > 0) this.pongDeadline = now + this.node.settings.pongTimeout * 1000;
  }

  /** Closes the socket with `code` and leaves every channel at once. */
  disconnect(code: number, reason?: string): void {
    if (this.state === 'closed') return;
    this.#flushReplies();
    this.#replies = null;
    this.#cleanup();
    try {
      this.ws.close(code, reason ?? DISCONNECT_REASONS[code as DisconnectCode] ?? '');
    } catch {
      this.ws.terminate();
    }
  }

  #cleanup(): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    this.state = 'closed';
    this.#queue = null;
    this.node.detach(this, wasConnected);
    for (const [channel, sub] of this.subs) this.node.leave(this, channel, sub.presence, sub.joinLeave, sub.chanInfo);
    this.subs.clear();
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed' || this.state === 'failed') {
      if (this.state === 'failed') this.disconnect(DisconnectCode.BadRequest);
      return;
    }
    // Text frames are the JSON protocol; a binary frame is decoded the same way (and fails if not JSON).
    void isBinary;
    const frame = data.toString('utf8');
    if (this.#busy) {
      (this.#queue ??= []).push(frame);
      return;
    }
    void this.#drain(frame);
  }

  async #drain(first: string): Promise<void> {
    this.#busy = true;
    try {
      let frame: string | undefined = first;
      while (frame !== undefined && this.state !== 'closed') {
        await this.#handleFrame(frame);
        frame = this.#queue?.shift();
      }
    } catch (error) {
      this.node.logger.error({ err: error, client: this.id }, 'gateway command failed');
      this.disconnect(DisconnectCode.InternalError);
    } finally {
      this.#busy = false;
    }
  }

  async #handleFrame(frame: string): Promise<void> {
    this.#replies = [];
    try {
      await this.#handleCommands(frame);
    } finally {
      this.#flushReplies();
      this.#replies = null;
    }
  }

  async #handleCommands(frame: string): Promise<void> {
    let commands: DecodedCommand[];
    try {
      commands = decodeCommands(frame);
    } catch (error) {
      if (!(error instanceof MalformedFrameError)) throw error;
      this.disconnect(DisconnectCode.BadRequest);
      return;
    }
    for (const command of commands) {
      if (this.state === 'closed') return;
      if (this.state === 'failed') {
        this.disconnect(DisconnectCode.BadRequest);
        return;
      }
      if (!(await this.#handleCommand(command))) return;
    }
  }

  /** Returns false when the rest of the frame must not be processed. */
  async #handleCommand({ id, kind, command }: DecodedCommand): Promise<boolean> {
    if (kind === null) {
      // An empty command is the pong to a server ping.
      if (id === 0 && this.state === 'connected' && this.pongPending) {
        this.pongPending = false;
        this.pongDeadline = 0;
        return true;
      }
      this.disconnect(DisconnectCode.BadRequest);
      return false;
    }
    if (kind === 'send') {
      if (this.state !== 'connected') {
        this.disconnect(DisconnectCode.BadRequest);
        return false;
      }
      this.node.onSend(this, command.send?.data);
      return true;
    }
    if (id === 0 || (kind === 'connect') === (this.state === 'connected')) {
      // No id, a command before connect, or a second connect.
      this.disconnect(DisconnectCode.BadRequest);
      return false;
    }
    if (this.restrictedUntil !== 0 && !allowedWhileRestricted({ id, kind, command })) {
      this.#send(encodeError(id, new ReplyError(ErrorCode.PermissionDenied).toBody()));
      return true;
    }
    try {
      const result = await this.#dispatch(kind, command);
      if (this.state !== 'closed') this.#send(encodeResult(id, kind, result.body));
      result.after?.();
      return true;
    } catch (error) {
      if (error instanceof ReplyError) {
        if (this.state === 'closed') return false;
        this.#send(encodeError(id, error.toBody()));
        if (kind === 'connect') {
          // A failed connect leaves the socket unusable: later commands close it with 3501.
          this.state = 'failed';
          this.staleAt = Date.now() + this.node.settings.staleCloseDelay * 1000;
          return false;
        }
        return true;
      }
      if (error instanceof DisconnectError) {
        this.disconnect(error.code, error.reason);
        return false;
      }
      // Broker or presence store trouble: a temporary error the client retries, not a crash.
      this.node.logger.error({ err: error, client: this.id, command: kind }, 'gateway command failed');
      if (this.state === 'closed') return false;
      if (kind === 'connect') {
        this.disconnect(DisconnectCode.InternalError);
        return false;
      }
      this.#send(encodeError(id, { code: ErrorCode.Internal, message: 'internal server error', temporary: true }));
      return true;
    }
  }

  async #dispatch(kind: Exclude<DecodedCommand['kind'], null>, command: Command): Promise<{ body: object; after?: () => void }> {
    switch (kind) {
      case 'connect':
        return this.#connect(command.connect ?? {});
      case 'subscribe':
        return this.#subscribe(command.subscribe ?? {});
      case 'unsubscribe':
        return { body: this.#unsubscribe(command.unsubscribe ?? {}) };
      case 'publish':
        return { body: await this.#publish(command.publish ?? {}) };
      case 'presence':
        return { body: { presence: await this.node.presence.get(await this.#presenceChannel(command.presence ?? {})) } };
      case 'presence_stats':
        return { body: await this.node.presence.stats(await this.#presenceChannel(command.presence_stats ?? {})) };
      case 'rpc':
        return { body: await this.#rpc(command.rpc ?? {}) };
      case 'refresh':
        return { body: await this.#refresh(command.refresh ?? {}) };
      case 'sub_refresh':
        return { body: await this.#subRefresh(command.sub_refresh ?? {}) };
      case 'ping':
        return { body: {} };
      case 'history':
        return { body: await this.#history(command.history ?? {}) };
      default:
        throw new DisconnectError(DisconnectCode.BadRequest, DISCONNECT_REASONS[DisconnectCode.BadRequest]);
    }
  }

  /** Maps a token failure: expired → `expired` callback, unavailable → 100 temporary, invalid → `invalid`. */
  async #verify(token: string, kind: 'connection' | 'subscription', onExpired: () => Error, onInvalid: () => Error): Promise<GatewayClaims> {
    try {
      const verifier = kind === 'connection' ? this.node.verifier : this.node.subscriptionVerifier;
      return checkClaims(await verifier.verify(token), kind);
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      this.node.logger.info({ client: this.id, failure: error.failure, detail: error.detail }, `${kind} token refused`);
      if (error.failure === 'expired') throw onExpired();
      if (error.failure === 'unavailable') throw new ReplyError(ErrorCode.Internal, undefined, true);
      throw onInvalid();
    }
  }

  #expiryOf(claims: GatewayClaims): number {
    if (this.node.settings.insecure) return 0;
    if (claims.expire_at !== undefined) return claims.expire_at;
    return claims.exp ?? 0;
  }

  async #connect(request: ConnectRequest): Promise<{ body: object; after?: () => void }> {
    const settings = this.node.settings;
    const token = text(request.token);
    let proxied: { readonly data: JsonValue | undefined; readonly channels: readonly string[] } | null = null;
    if (token !== '') {
      const claims = await this.#verify(
        token,
        'connection',
        () => new ReplyError(ErrorCode.TokenExpired),
        () => new DisconnectError(DisconnectCode.InvalidToken, DISCONNECT_REASONS[DisconnectCode.InvalidToken]),
      );
      if (this.state === 'closed') return { body: {} };
      this.user = claims.sub ?? '';
      if (this.user === '' && settings.disallowAnonymousConnectionTokens) {
        throw new DisconnectError(DisconnectCode.PermissionDenied, DISCONNECT_REASONS[DisconnectCode.PermissionDenied]);
      }
      // A token a known revocation event refuses: an ended session is told so (4501, terminal); stale
      // grants (role, membership) get 109, so the client fetches a fresh token and comes back.
      const refusal = this.node.revocations.refusal(claims);
      if (refusal === 'end_session') throw new DisconnectError(DisconnectCode.SessionEnded, DISCONNECT_REASONS[DisconnectCode.SessionEnded]);
      if (refusal !== null) throw new ReplyError(ErrorCode.TokenExpired);
      this.claims = claims;
      this.selectorKeys = claimKeys(claims);
      this.info = claims.info;
      this.meta = claims.meta;
      this.expireAt = this.#expiryOf(claims);
      if (this.expireAt > 0 && this.expireAt <= nowSeconds()) throw new ReplyError(ErrorCode.Expired);
    } else if (settings.proxies.connect) {
      // The application backend decides connects without a token.
      const decided = await proxyConnect(settings.proxies.connect, { client: this.id, headers: this.headers }, request);
      if (this.state === 'closed') return { body: {} };
      this.user = decided.user;
      this.info = decided.info;
      this.meta = decided.meta;
      this.expireAt = settings.insecure ? 0 : decided.expireAt;
      proxied = decided;
    } else if (settings.authRpc && !(settings.insecure || settings.allowAnonymousConnectWithoutToken)) {
      // Sign-in over the socket: only the `auth.*` sign-in RPCs, for a limited time, on a bounded number of connections.
      if (this.state === 'closed') return { body: {} };
      if (!this.node.admitRestricted()) throw new DisconnectError(DisconnectCode.ConnectionLimit, DISCONNECT_REASONS[DisconnectCode.ConnectionLimit]);
      this.restrictedUntil = Date.now() + settings.authRpcLifetime * 1000;
    } else if (!(settings.insecure || settings.allowAnonymousConnectWithoutToken)) {
      throw new DisconnectError(DisconnectCode.BadRequest, DISCONNECT_REASONS[DisconnectCode.BadRequest]);
    }

    const result: ConnectResult = { client: this.id, version: this.node.version };
    if (proxied?.data !== undefined) result.data = proxied.data;
    // With a refresh proxy the server refreshes the connection itself: the client is not told to.
    if (this.expireAt > 0 && !settings.proxies.refresh) {
      result.expires = true;
      result.ttl = ttlUntil(this.expireAt);
    }
    if (settings.pingInterval > 0) {
      result.ping = Math.round(settings.pingInterval);
      result.pong = true;
    }
    // Server-side subscriptions from the token's `channels` claim (trusted: no permission check).
    const serverChannels = [...(this.claims?.channels ?? []), ...(proxied?.channels ?? [])].filter((channel) => channel !== '');
    const resolved: ResolvedChannel[] = [];
    const limit = settings.clientChannelLimit;
    if (limit > 0 && new Set(serverChannels).size > limit) throw new DisconnectError(DisconnectCode.ChannelLimit, DISCONNECT_REASONS[DisconnectCode.ChannelLimit]);
    for (const channel of new Set(serverChannels)) {
      const channelResult = resolveChannel(settings.channels, channel);
      if (typeof channelResult === 'number') throw new DisconnectError(DisconnectCode.BadRequest, DISCONNECT_REASONS[DisconnectCode.BadRequest]);
      resolved.push(channelResult);
    }
    // An event may have arrived while the server channels were checked: look once more, right before
    // the connection becomes findable by later events.
    if (this.claims !== null && this.node.revocations.refusal(this.claims) === 'end_session') {
      throw new DisconnectError(DisconnectCode.SessionEnded, DISCONNECT_REASONS[DisconnectCode.SessionEnded]);
    }
    this.state = 'connected';
    this.staleAt = 0;
    this.node.attach(this);
    if (settings.pingInterval > 0) this.nextPingAt = Date.now() + settings.pingInterval * 1000 * (0.5 + Math.random() / 2);
    if (resolved.length > 0) {
      const subs: Record<string, SubscribeResult> = {};
      for (const channel of resolved) {
        await this.node.hub.reserve(channel.channel, this);
        subs[channel.channel] = {};
      }
      result.subs = subs;
    }
    return {
      body: result,
      after: () => {
        for (const channel of resolved) this.#activate(channel, 'server', undefined, 0, false);
      },
    };
  }

  #activate(
    resolved: ResolvedChannel,
    source: Subscription['source'],
    chanInfo: JsonValue | undefined,
    expireAt: number,
    askedJoinLeave: boolean,
    stream?: Pick<StreamSubscribe, 'position' | 'delta' | 'epoch'>,
  ): void {
    if (this.state !== 'connected') {
      this.node.hub.remove(resolved.channel, this);
      return;
    }
    if (source !== 'server' && this.#membershipEndedMeanwhile(resolved)) {
      // The membership ended while the subscribe was being answered: the reply went out, the push ends it.
      this.node.hub.remove(resolved.channel, this);
      this.#pushUnsubscribe(resolved.channel, UnsubscribeCode.MembershipEnded);
      return;
    }
    const ns = resolved.namespace;
    const pushJoinLeave = ns.join_leave && (ns.force_push_join_leave || askedJoinLeave);
    const sub: Subscription = { resolved, source, chanInfo, expireAt, presence: ns.presence, joinLeave: ns.join_leave };
    this.subs.set(resolved.channel, sub);
    if (expireAt > 0) this.expiringSubs += 1;
    if (!this.node.join(this, resolved.channel, pushJoinLeave, sub.presence, sub.joinLeave, chanInfo, stream)) {
      // Publications between the reply's position and the first live one were lost.
      this.subs.delete(resolved.channel);
      this.disconnect(DisconnectCode.InsufficientState);
    }
  }

  /** `org:<id>` channels need the token's organization to be `<id>`. */
  #organizationAllowed(resolved: ResolvedChannel): boolean {
    if (!resolved.namespace.organization_bound || this.node.settings.insecure) return true;
    return organizationOf(this.claims) === resolved.rest;
  }

  /**
   * `org:<id>` channels need the token's organization to be `<id>` and, with database membership, the
   * user to be a member now: no known event has ended the membership the token claims, and the
   * organizations tables (through the node's cache) list the user.
   */
  async #isMember(resolved: ResolvedChannel): Promise<boolean> {
    return this.#organizationAllowed(resolved) && (await this.#membershipHolds(resolved));
  }

  /** The database part of {@link #isMember} (subscriptions granted by a subscription token skip the claim). */
  async #membershipHolds(resolved: ResolvedChannel): Promise<boolean> {
    if (!resolved.namespace.organization_bound || this.node.settings.insecure || this.node.settings.organizationMembership !== 'database') return true;
    if (this.node.revocations.membershipEnded(this.claims, resolved.rest)) return false;
    return this.node.membership.isMember(this.user, resolved.rest);
  }

  /** A membership-ending event for an organization channel arrived while its subscribe was answered. */
  #membershipEndedMeanwhile(resolved: ResolvedChannel): boolean {
    return resolved.namespace.organization_bound && !this.node.settings.insecure && this.node.revocations.membershipEnded(this.claims, resolved.rest);
  }

  #pushUnsubscribe(channel: string, code: UnsubscribeCode): void {
    this.#send(encodePush({ channel, unsubscribe: { code, reason: UNSUBSCRIBE_REASONS[code] } }));
  }

  /** Ends one subscription from the server side with an unsubscribe push (`code` below 2500: the client stays unsubscribed). */
  endSubscription(channel: string, code: UnsubscribeCode): void {
    const sub = this.subs.get(channel);
    if (!sub || this.state !== 'connected') return;
    this.#removeSubscription(channel, sub);
    this.#pushUnsubscribe(channel, code);
  }

  /** Ends every subscription to `organization`'s channels (unsubscribe 2001). */
  endOrganization(organization: string): void {
    for (const [channel, sub] of [...this.subs]) {
      if (sub.resolved.namespace.organization_bound && sub.resolved.rest === organization) this.endSubscription(channel, UnsubscribeCode.MembershipEnded);
    }
  }

  #removeSubscription(channel: string, sub: Subscription): void {
    this.subs.delete(channel);
    if (sub.expireAt > 0) this.expiringSubs -= 1;
    this.node.leave(this, channel, sub.presence, sub.joinLeave, sub.chanInfo);
  }

  #resolve(channel: string): ResolvedChannel {
    const resolved = resolveChannel(this.node.settings.channels, channel);
    if (typeof resolved === 'number') throw new ReplyError(resolved);
    return resolved;
  }

  async #subscribe(request: SubscribeRequest): Promise<{ body: object; after?: () => void }> {
    const channel = text(request.channel);
    if (channel === '') throw new ReplyError(ErrorCode.UnknownChannel);
    if (this.subs.has(channel) || this.#subscribing.has(channel)) throw new ReplyError(ErrorCode.AlreadySubscribed);
    const limit = this.node.settings.clientChannelLimit;
    if (limit > 0 && this.subs.size + this.#subscribing.size >= limit) throw new ReplyError(ErrorCode.LimitExceeded);
    const resolved = this.#resolve(channel);
    const ns = resolved.namespace;
    const settings = this.node.settings;
    const token = text(request.token);
    if (resolved.isPrivate && token === '') throw new ReplyError(ErrorCode.PermissionDenied);

    let chanInfo: JsonValue | undefined;
    let expireAt = 0;
    let proxiedData: JsonValue | undefined;
    const subscribeProxy = ns.subscribe_proxy_enabled && resolved.users === null ? settings.proxies.subscribe : null;
    if (token === '' && subscribeProxy) {
      // The application backend decides (user-limited channels and subscription tokens decide themselves).
      const decided = await proxySubscribe(subscribeProxy, this.#caller(), channel, { data: request.data });
      chanInfo = decided.info;
      expireAt = settings.insecure ? 0 : decided.expireAt;
      proxiedData = decided.data;
    } else if (token !== '') {
      const claims = await this.#verify(
        token,
        'subscription',
        () => new ReplyError(ErrorCode.TokenExpired),
        () => new ReplyError(ErrorCode.PermissionDenied),
      );
      if (claims.channel !== channel || (claims.sub ?? '') !== this.user || (claims.client !== undefined && claims.client !== this.id)) {
        throw new DisconnectError(DisconnectCode.InvalidToken, DISCONNECT_REASONS[DisconnectCode.InvalidToken]);
      }
      chanInfo = claims.info;
      expireAt = this.#expiryOf(claims);
      if (expireAt > 0 && expireAt <= nowSeconds()) throw new ReplyError(ErrorCode.Expired);
    } else {
      const userLimited = resolved.users !== null;
      const allowed =
        (userLimited && this.user !== '' && resolved.users.includes(this.user)) ||
        (!userLimited && ns.allow_subscribe_for_client && (this.user !== '' || ns.allow_subscribe_for_anonymous)) ||
        settings.insecure;
      if (!allowed || (ns.service_role_only && this.claims?.role !== 'service_role')) throw new ReplyError(ErrorCode.PermissionDenied);
    }
    this.#subscribing.add(channel);
    try {
      if (!(await (token === '' && !subscribeProxy ? this.#isMember(resolved) : this.#membershipHolds(resolved)))) throw new ReplyError(ErrorCode.PermissionDenied);
    } finally {
      this.#subscribing.delete(channel);
    }
    if (this.state !== 'connected') return { body: {} };
    if (this.subs.has(channel) || this.#subscribing.has(channel)) throw new ReplyError(ErrorCode.AlreadySubscribed);

    this.#subscribing.add(channel);
    // Join/leave on request needs presence access as a subscriber (the subscription counts as made).
    const askedJoinLeave = request.join_leave === true && this.#allowed(resolved, 'presence');
    let stream: StreamSubscribe;
    try {
      await this.node.hub.reserve(channel, this);
      stream = await positionSubscription(this.node.broker, settings.channels, channel, ns, request, this.#allowed(resolved, 'history'));
    } catch (error) {
      this.node.hub.remove(channel, this);
      throw error;
    } finally {
      this.#subscribing.delete(channel);
    }
    const result: SubscribeResult = stream.result;
    if (proxiedData !== undefined) result.data = proxiedData;
    const source = token !== '' ? 'token' : subscribeProxy ? 'proxy' : 'claims';
    // A proxied subscription with a sub_refresh proxy is refreshed by the server, not the client.
    if (expireAt > 0 && !(source === 'proxy' && this.#subRefreshProxy(ns))) {
      result.expires = true;
      result.ttl = ttlUntil(expireAt);
    }
    return { body: result, after: () => this.#activate(resolved, source, chanInfo, expireAt, askedJoinLeave, stream) };
  }

  #unsubscribe(request: ChannelRequest): object {
    const channel = text(request.channel);
    const sub = this.subs.get(channel);
    if (sub) this.#removeSubscription(channel, sub);
    return {};
  }

  async #publish(request: PublishRequest): Promise<object> {
    const channel = text(request.channel);
    if (channel === '') throw new ReplyError(ErrorCode.UnknownChannel);
    if (request.data === undefined) throw new ReplyError(ErrorCode.BadRequest);
    const resolved = this.#resolve(channel);
    const ns = resolved.namespace;
    const anonymousOk = this.user !== '' || ns.allow_publish_for_anonymous;
    const publishProxy = ns.publish_proxy_enabled ? this.node.settings.proxies.publish : null;
    const allowed =
      publishProxy !== null ||
      (ns.allow_publish_for_client && anonymousOk) ||
      (ns.allow_publish_for_subscriber && this.subs.has(channel) && anonymousOk) ||
      this.node.settings.insecure;
    if (!allowed || !(await this.#isMember(resolved))) throw new ReplyError(ErrorCode.PermissionDenied);
    const info = this.clientInfo(this.subs.get(channel)?.chanInfo);
    if (!publishProxy) {
      await this.node.publish(channel, request.data, info);
      return {};
    }
    // The application backend decides, and may replace the data or keep it out of history.
    const decided = await proxyPublish(publishProxy, this.#caller(), channel, request.data);
    await this.node.publishJson(channel, JSON.stringify(decided.data), info, { skipHistory: decided.skipHistory });
    return {};
  }

  /** Presence or history access: any client, or subscribers (a subscribe in flight counts), per the namespace. */
  #allowed(resolved: ResolvedChannel, what: 'presence' | 'history'): boolean {
    const ns = resolved.namespace;
    const anonymousOk = this.user !== '' || ns[`allow_${what}_for_anonymous`];
    const allowed =
      (ns[`allow_${what}_for_client`] && anonymousOk) ||
      (ns[`allow_${what}_for_subscriber`] && (this.subs.has(resolved.channel) || this.#subscribing.has(resolved.channel)) && anonymousOk) ||
      this.node.settings.insecure;
    return allowed && this.#organizationAllowed(resolved);
  }

  /** Checks a presence request and returns its channel (108 when the namespace keeps no presence). */
  async #presenceChannel(request: ChannelRequest): Promise<string> {
    const channel = text(request.channel);
    if (channel === '') throw new ReplyError(ErrorCode.UnknownChannel);
    const resolved = this.#resolve(channel);
    if (!resolved.namespace.presence) throw new ReplyError(ErrorCode.NotAvailable);
    if (!this.#allowed(resolved, 'presence') || !(await this.#isMember(resolved))) throw new ReplyError(ErrorCode.PermissionDenied);
    return channel;
  }

  /** The `history` command: 108 when the namespace keeps none, 103 without history access. */
  async #history(request: HistoryRequest): Promise<object> {
    const channel = text(request.channel);
    if (channel === '') throw new DisconnectError(DisconnectCode.BadRequest, DISCONNECT_REASONS[DisconnectCode.BadRequest]);
    const resolved = this.#resolve(channel);
    if (!keepsHistory(resolved.namespace)) throw new ReplyError(ErrorCode.NotAvailable);
    if (!this.#allowed(resolved, 'history') || !(await this.#isMember(resolved))) throw new ReplyError(ErrorCode.PermissionDenied);
    return historyResult(this.node.broker, channel, historyQuery(request, streamOptions(resolved.namespace, this.node.settings.channels).metaTtl));
  }

  async #rpc(request: RpcRequest): Promise<object> {
    const method = text(request.method);
    // A handler may take a while: earlier replies of the frame should not wait for it.
    this.#flushReplies();
    const data = await this.node.rpc.call(method, request.data, {
      client: this.id,
      user: this.user,
      method,
      claims: this.claims,
      address: this.address,
      meta: this.meta,
      headers: this.headers,
    });
    return data === undefined ? {} : { data };
  }

  async #refresh(request: TokenRequest): Promise<object> {
    const token = text(request.token);
    if (token === '') throw new DisconnectError(DisconnectCode.BadRequest, DISCONNECT_REASONS[DisconnectCode.BadRequest]);
    const expired = this.node.settings.expiredCloseCode;
    const claims = await this.#verify(
      token,
      'connection',
      () => new DisconnectError(expired, DISCONNECT_REASONS[expired]),
      () => new DisconnectError(DisconnectCode.InvalidToken, DISCONNECT_REASONS[DisconnectCode.InvalidToken]),
    );
    if ((claims.sub ?? '') !== this.user) throw new DisconnectError(DisconnectCode.InvalidToken, DISCONNECT_REASONS[DisconnectCode.InvalidToken]);
    // A refreshed token that a known event refuses: an ended session closes (4501); stale grants close
    // with 3014, so the client fetches another token and reconnects.
    const refusal = this.node.revocations.refusal(claims);
    if (refusal === 'end_session') throw new DisconnectError(DisconnectCode.SessionEnded, DISCONNECT_REASONS[DisconnectCode.SessionEnded]);
    if (refusal !== null) throw new DisconnectError(DisconnectCode.StateInvalidated, DISCONNECT_REASONS[DisconnectCode.StateInvalidated]);
    const expireAt = this.#expiryOf(claims);
    if (expireAt > 0 && expireAt <= nowSeconds()) throw new ReplyError(ErrorCode.Expired);
    if (this.state !== 'connected') return {};
    const previousKeys = this.selectorKeys;
    this.claims = claims;
    this.selectorKeys = claimKeys(claims);
    this.node.reindex(this, previousKeys);
    this.info = claims.info;
    this.meta = claims.meta;
    this.expireAt = expireAt;
    await this.#recheckOrganizations();
    return expireAt > 0
      ? { client: this.id, version: this.node.version, expires: true, ttl: ttlUntil(expireAt) }
      : { client: this.id, version: this.node.version, expires: false };
  }

  /**
   * After a refresh: organization channels the new claims no longer grant, or whose membership the
   * database no longer lists, end with unsubscribe 2001. Token subscriptions (granted by a backend's
   * subscription token) are left to their own token.
   */
  async #recheckOrganizations(): Promise<void> {
    // Several organization channels are rare; their lookups run one after the other (cached per node).
    for (const [channel, sub] of [...this.subs]) {
      if (!sub.resolved.namespace.organization_bound || sub.source === 'server') continue;
      const holds = sub.source === 'claims' ? await this.#isMember(sub.resolved) : await this.#membershipHolds(sub.resolved);
      if (!holds && this.subs.get(channel) === sub) this.endSubscription(channel, UnsubscribeCode.MembershipEnded);
    }
  }

  async #subRefresh(request: SubRefreshRequest): Promise<object> {
    const channel = text(request.channel);
    const token = text(request.token);
    if (channel === '' || token === '') throw new DisconnectError(DisconnectCode.BadRequest, DISCONNECT_REASONS[DisconnectCode.BadRequest]);
    const sub = this.subs.get(channel);
    if (!sub) throw new ReplyError(ErrorCode.PermissionDenied);
    const claims = await this.#verify(
      token,
      'subscription',
      () => new DisconnectError(DisconnectCode.SubscriptionExpired, DISCONNECT_REASONS[DisconnectCode.SubscriptionExpired]),
      () => new DisconnectError(DisconnectCode.InvalidToken, DISCONNECT_REASONS[DisconnectCode.InvalidToken]),
    );
    if (claims.channel !== channel || (claims.sub ?? '') !== this.user || (claims.client !== undefined && claims.client !== this.id)) {
      throw new DisconnectError(DisconnectCode.InvalidToken, DISCONNECT_REASONS[DisconnectCode.InvalidToken]);
    }
    if (!(await this.#membershipHolds(sub.resolved))) {
      // The subscription token is fresh but the membership behind the organization channel has ended.
      this.endSubscription(channel, UnsubscribeCode.MembershipEnded);
      throw new ReplyError(ErrorCode.PermissionDenied);
    }
    if (this.subs.get(channel) !== sub) throw new ReplyError(ErrorCode.PermissionDenied);
    const expireAt = this.#expiryOf(claims);
    if (sub.expireAt > 0) this.expiringSubs -= 1;
    sub.expireAt = expireAt;
    if (expireAt > 0) this.expiringSubs += 1;
    return expireAt > 0 ? { expires: true, ttl: ttlUntil(expireAt) } : { expires: false };
  }

  /** Who this connection is, for proxy requests. */
  #caller(): ProxyCaller {
    return { client: this.id, user: this.user, meta: this.meta, headers: this.headers };
  }

  /** The sub_refresh proxy, where the namespace uses it. */
  #subRefreshProxy(ns: ResolvedChannel['namespace']) {
    return ns.sub_refresh_proxy_enabled ? this.node.settings.proxies.subRefresh : null;
  }

  /** The connection (`''`) and channels whose refresh proxy call is in flight (created when first needed). */
  #refreshing: Set<string> | null = null;

  /** Server-side refresh at expiry: the refresh proxy extends the connection or it closes with 3005. */
  #refreshByProxy(): void {
    const proxy = this.node.settings.proxies.refresh;
    const refreshing = (this.#refreshing ??= new Set());
    if (!proxy || refreshing.has('')) return;
    refreshing.add('');
    void proxyRefresh(proxy, this.#caller()).then((decided) => {
      refreshing.delete('');
      if (this.state !== 'connected') return;
      if (decided.expired || (decided.expireAt > 0 && decided.expireAt <= nowSeconds())) {
        this.disconnect(DisconnectCode.ConnectionExpired);
        return;
      }
      this.expireAt = decided.expireAt;
      if (decided.info !== undefined) this.info = decided.info;
    });
  }

  /** Server-side refresh of a proxied subscription: extended, or ended with unsubscribe 2501 (the client resubscribes). */
  #subRefreshByProxy(channel: string, sub: Subscription): void {
    const proxy = this.#subRefreshProxy(sub.resolved.namespace);
    const refreshing = (this.#refreshing ??= new Set());
    if (!proxy || refreshing.has(channel)) return;
    refreshing.add(channel);
    void proxyRefresh(proxy, this.#caller(), channel).then((decided) => {
      refreshing.delete(channel);
      if (this.subs.get(channel) !== sub) return;
      if (decided.expired || (decided.expireAt > 0 && decided.expireAt <= nowSeconds())) {
        this.endSubscription(channel, UnsubscribeCode.Expired);
        return;
      }
      if (decided.expireAt === 0) this.expiringSubs -= 1;
      sub.expireAt = decided.expireAt;
    });
  }

  /** Called by the node's ticker: stale, ping/pong and expiry checks. */
  tick(now: number): void {
    if (this.state === 'new' || this.state === 'failed') {
      // A connect still being verified is not stale: it gets its answer (or its own timeout) first.
      if (this.staleAt !== 0 && now >= this.staleAt && !(this.state === 'new' && this.#busy)) this.disconnect(DisconnectCode.Stale);
      return;
    }
    if (this.state !== 'connected') return;
    const settings = this.node.settings;
    if (this.restrictedUntil !== 0 && now >= this.restrictedUntil) {
      this.disconnect(DisconnectCode.AuthenticationTimeout);
      return;
    }
    if (this.pongDeadline !== 0 && now >= this.pongDeadline) {
      this.disconnect(DisconnectCode.NoPong);
      return;
    }
    if (settings.proxies.refresh && this.expireAt > 0 && now >= this.expireAt * 1000) {
      this.#refreshByProxy();
    } else if (this.expireAt > 0 && now >= (this.expireAt + settings.expiredCloseDelay) * 1000) {
      this.disconnect(settings.expiredCloseCode);
      return;
    }
    if (this.expiringSubs > 0) {
      for (const [channel, sub] of this.subs) {
        if (sub.source === 'proxy' && sub.expireAt > 0 && now >= sub.expireAt * 1000 && this.#subRefreshProxy(sub.resolved.namespace)) {
          this.#subRefreshByProxy(channel, sub);
        } else if (sub.expireAt > 0 && now >= (sub.expireAt + settings.expiredSubCloseDelay) * 1000) {
          this.disconnect(DisconnectCode.SubscriptionExpired);
          return;
        }
      }
    }
    if (this.nextPingAt !== 0 && now >= this.nextPingAt && !this.pongPending) this.ping(now);
  }
}
