import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { allowedWhileRestricted } from '../auth-rpc/restricted.js';
import type { GatewayClaims } from '../auth/claims.js';
import { keepsHistory } from '../channels/options.js';
import { resolveChannel, type ResolvedChannel } from '../channels/resolve.js';
import { historyQuery, historyResult, positionSubscription, streamOptions, type StreamSubscribe } from '../history/position.js';
import { DISCONNECT_REASONS, DisconnectCode, ErrorCode, UNSUBSCRIBE_REASONS, UnsubscribeCode } from '../protocol/codes.js';
import { JSON_CODEC, MalformedFrameError, type DecodedCommand, type ProtocolCodec } from '../protocol/codec.js';
import type {
  ChannelRequest,
  ClientInfo,
  Command,
  ConnectRequest,
  ConnectResult,
  HistoryRequest,
  JsonValue,
  PublishRequest,
  RpcRequest,
  SubRefreshRequest,
  SubscribeRequest,
  SubscribeResult,
  TokenRequest,
} from '../protocol/types.js';
import { proxyConnect, proxyPublish, proxyRefresh, proxySubscribe } from '../proxy/calls.js';
import type { ProxyCaller } from '../proxy/http.js';
import { claimKeys, type SelectorKey } from '../revocation/selectors.js';
import { DisconnectError, ReplyError } from '../rpc/errors.js';
import type { NodeConnection, SessionNode, Subscriber } from './contracts.js';
import { expiryOf, Lifecycle, nowSeconds, ttlUntil, verifyToken } from './lifecycle.js';
import { mayPublish, mayRead, maySubscribe, membershipChecked, organizationAllowed, subscriptionTokenFits, type Requester } from './permissions.js';
import { Subscriptions, type Subscription } from './subscriptions.js';
import { Transport } from './transport.js';

type State = 'new' | 'connected' | 'failed' | 'closed';
type CommandKind = Exclude<DecodedCommand['kind'], null>;
/** A command's reply body, and what to do once the reply is queued (a subscription goes live after its reply). */
type Outcome = { readonly body: object; readonly after?: () => void };

/** Type guard for request bodies' string fields. */
function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function disconnectError(code: DisconnectCode): DisconnectError {
  return new DisconnectError(code, DISCONNECT_REASONS[code]);
}

/**
 * One WebSocket connection speaking the client protocol: the command state machine (`new` → `connected`,
 * or `failed` after a refused connect; `closed` at the end) and the commands' rules. Writing and reading
 * are the {@link Transport}'s, deadlines the {@link Lifecycle}'s, channels the {@link Subscriptions}'.
 */
export class Session implements NodeConnection, Subscriber {
  readonly id = randomUUID();
  readonly #node: SessionNode;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #address: string;
  readonly #transport: Transport;
  readonly #lifecycle: Lifecycle;
  readonly #subscriptions: Subscriptions;
  #state: State = 'new';
  #user = '';
  #claims: GatewayClaims | null = null;
  #selectorKeys: readonly SelectorKey[] = [];
  /** Connection info (`info` claim) shown to others. */
  #info: JsonValue | undefined;
  #meta: JsonValue | undefined;

  /**
   * @param headers The request headers kept for RPC handlers and proxies.
   * @param address The socket's peer address (the client, or the proxy in front of it).
   * @param codec The wire format chosen at upgrade: commands are decoded, replies and pushes encoded by it alone.
   */
  constructor(
    node: SessionNode,
    ws: WebSocket,
    headers: Readonly<Record<string, string>>,
    address = '',
    readonly codec: ProtocolCodec = JSON_CODEC,
  ) {
    this.#node = node;
    this.#headers = headers;
    this.#address = address;
    this.#lifecycle = new Lifecycle(node.settings, Date.now());
    this.#subscriptions = new Subscriptions(node, this, (chanInfo) => this.clientInfo(chanInfo));
    this.#transport = new Transport(ws, node.settings.queueMaxSize, {
      admit: () => this.#admit(),
      receive: (frame) => this.#handleFrame(frame),
      crashed: (error) => {
        node.logger.error({ err: error, client: this.id }, 'gateway command failed');
        this.disconnect(DisconnectCode.InternalError);
      },
    }, codec);
    this.#transport.onClose(() => this.#cleanup());
  }

  get user(): string {
    return this.#user;
  }

  get claims(): GatewayClaims | null {
    return this.#claims;
  }

  get selectorKeys(): readonly SelectorKey[] {
    return this.#selectorKeys;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  get restricted(): boolean {
    return this.#lifecycle.restricted;
  }

  /** Identity as shown in presence, join/leave and client publications. */
  clientInfo(chanInfo?: JsonValue): ClientInfo {
    const info: ClientInfo = { user: this.#user, client: this.id };
    if (this.#info !== undefined) info.conn_info = this.#info;
    if (chanInfo !== undefined) info.chan_info = chanInfo;
    return info;
  }

  /** Hub delivery: writes a shared frame, already encoded in this connection's format. Slow readers are closed with 3008. */
  write(frame: Buffer): void {
    if (!this.#transport.write(frame)) this.disconnect(DisconnectCode.Slow);
  }

  /**
   * Hub: a positioned subscription missed publications. As Centrifugo does, a client-side subscription
   * is ended with unsubscribe 2500 (the client subscribes again and recovers; the socket stays open); a
   * server-side one, which the client cannot subscribe again, closes the connection with 3010.
   */
  lostPosition(channel: string): void {
    const sub = this.#subscriptions.get(channel);
    if (sub && sub.source !== 'server') this.endSubscription(channel, UnsubscribeCode.InsufficientState);
    else this.disconnect(DisconnectCode.InsufficientState);
  }

  /** Closes the socket with `code` and leaves every channel at once. */
  disconnect(code: number, reason?: string): void {
    if (this.#state === 'closed') return;
    this.#transport.stop();
    this.#cleanup();
    this.#transport.close(code, reason ?? DISCONNECT_REASONS[code as DisconnectCode] ?? '');
  }

  /** Ends one subscription from the server side with an unsubscribe push (`code` below 2500: the client stays unsubscribed). */
  endSubscription(channel: string, code: UnsubscribeCode): void {
    const sub = this.#subscriptions.get(channel);
    if (!sub || this.#state !== 'connected') return;
    this.#subscriptions.remove(sub);
    this.#pushUnsubscribe(channel, code);
  }

  /** Ends every subscription to `organization`'s channels (unsubscribe 2001). */
  endOrganization(organization: string): void {
    for (const sub of this.#subscriptions.list()) {
      if (sub.resolved.namespace.organization_bound && sub.resolved.rest === organization) this.endSubscription(sub.resolved.channel, UnsubscribeCode.MembershipEnded);
    }
  }

  /** Called by the node's ticker: stale, ping/pong and expiry checks. */
  tick(now: number): void {
    const lifecycle = this.#lifecycle;
    if (this.#state === 'new' || this.#state === 'failed') {
      // A connect still being verified is not stale: it gets its answer (or its own timeout) first.
      if (lifecycle.stale(now) && !(this.#state === 'new' && this.#transport.busy)) this.disconnect(DisconnectCode.Stale);
      return;
    }
    if (this.#state !== 'connected') return;
    const settings = this.#node.settings;
    switch (lifecycle.due(now)) {
      case 'restricted_timeout':
        this.disconnect(DisconnectCode.AuthenticationTimeout);
        return;
      case 'no_pong':
        this.disconnect(DisconnectCode.NoPong);
        return;
      case 'expired':
        this.disconnect(settings.expiredCloseCode);
        return;
      case 'refresh':
        this.#refreshByProxy();
        break;
      case 'ok':
        break;
    }
    if (this.#subscriptions.expiring) {
      for (const sub of this.#subscriptions.list()) {
        if (sub.expireAt === 0) continue;
        if (sub.source === 'proxy' && now >= sub.expireAt * 1000 && this.#subRefreshProxy(sub.resolved.namespace)) {
          this.#subRefreshByProxy(sub);
        } else if (now >= (sub.expireAt + settings.expiredSubCloseDelay) * 1000) {
          this.disconnect(DisconnectCode.SubscriptionExpired);
          return;
        }
      }
    }
    if (lifecycle.pingDue(now)) {
      this.#transport.ping();
      lifecycle.pinged(now);
    }
  }

  // ---- the state machine ----

  #admit(): boolean {
    if (this.#state === 'closed') return false;
    if (this.#state === 'failed') {
      this.disconnect(DisconnectCode.BadRequest);
      return false;
    }
    return true;
  }

  #cleanup(): void {
    if (this.#state === 'closed') return;
    const wasConnected = this.#state === 'connected';
    this.#state = 'closed';
    this.#transport.stop();
    this.#node.detach(this, wasConnected);
    this.#subscriptions.removeAll();
  }

  async #handleFrame(frame: Buffer): Promise<void> {
    let commands: DecodedCommand[];
    try {
      commands = this.codec.decodeCommands(frame);
    } catch (error) {
      if (!(error instanceof MalformedFrameError)) throw error;
      this.disconnect(DisconnectCode.BadRequest);
      return;
    }
    for (const command of commands) {
      if (this.#state === 'closed') return;
      if (this.#state === 'failed') {
        this.disconnect(DisconnectCode.BadRequest);
        return;
      }
      if (!(await this.#handleCommand(command))) return;
    }
  }

  /** Returns false when the rest of the frame must not be processed. */
  async #handleCommand({ id, kind, command, refusal }: DecodedCommand): Promise<boolean> {
    if (kind === null) {
      // An empty command is the pong to a server ping.
      if (id === 0 && this.#state === 'connected' && this.#lifecycle.pong()) return true;
      this.disconnect(DisconnectCode.BadRequest);
      return false;
    }
    if (kind === 'send') {
      if (this.#state !== 'connected') {
        this.disconnect(DisconnectCode.BadRequest);
        return false;
      }
      if (refusal === undefined) this.#node.onSend(this, command.send?.data);
      return true;
    }
    if (id === 0 || (kind === 'connect') === (this.#state === 'connected')) {
      // No id, a command before connect, or a second connect.
      this.disconnect(DisconnectCode.BadRequest);
      return false;
    }
    if (this.#lifecycle.restricted && !allowedWhileRestricted({ id, kind, command })) {
      this.#transport.send(this.codec.encodeError(id, new ReplyError(ErrorCode.PermissionDenied).toBody()));
      return true;
    }
    try {
      if (refusal !== undefined) throw new ReplyError(refusal.code, refusal.message);
      const result = await this.#dispatch(kind, command);
      if (this.#state !== 'closed') this.#transport.send(this.codec.encodeResult(id, kind, result.body));
      result.after?.();
      return true;
    } catch (error) {
      return this.#failed(id, kind, error);
    }
  }

  /** A command threw: a reply error, a disconnect, or trouble the client retries. */
  #failed(id: number, kind: CommandKind, error: unknown): boolean {
    if (error instanceof ReplyError) {
      if (this.#state === 'closed') return false;
      this.#transport.send(this.codec.encodeError(id, error.toBody()));
      if (kind === 'connect') {
        // A failed connect leaves the socket unusable: later commands close it with 3501.
        this.#state = 'failed';
        this.#lifecycle.failed(Date.now());
        return false;
      }
      return true;
    }
    if (error instanceof DisconnectError) {
      this.disconnect(error.code, error.reason);
      return false;
    }
    // Broker or presence store trouble: a temporary error the client retries, not a crash.
    this.#node.logger.error({ err: error, client: this.id, command: kind }, 'gateway command failed');
    if (this.#state === 'closed') return false;
    if (kind === 'connect') {
      this.disconnect(DisconnectCode.InternalError);
      return false;
    }
    this.#transport.send(this.codec.encodeError(id, { code: ErrorCode.Internal, message: 'internal server error', temporary: true }));
    return true;
  }

  async #dispatch(kind: CommandKind, command: Command): Promise<Outcome> {
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
        return { body: { presence: await this.#node.presence.get(await this.#presenceChannel(command.presence ?? {})) } };
      case 'presence_stats':
        return { body: await this.#node.presence.stats(await this.#presenceChannel(command.presence_stats ?? {})) };
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
        throw disconnectError(DisconnectCode.BadRequest);
    }
  }

  // ---- connection token: connect, refresh ----

  async #connect(request: ConnectRequest): Promise<Outcome> {
    const node = this.#node;
    const settings = node.settings;
    const lifecycle = this.#lifecycle;
    const token = text(request.token);
    let proxied: { readonly data: JsonValue | undefined; readonly channels: readonly string[] } | null = null;
    if (token !== '') {
      const claims = await verifyToken(node, this.id, token, 'connection', () => new ReplyError(ErrorCode.TokenExpired), () => disconnectError(DisconnectCode.InvalidToken));
      if (this.#state === 'closed') return { body: {} };
      this.#user = claims.sub ?? '';
      if (this.#user === '' && settings.disallowAnonymousConnectionTokens) throw disconnectError(DisconnectCode.PermissionDenied);
      // A token a known revocation event refuses: an ended session is told so (4501, terminal); stale
      // grants (role, membership) get 109, so the client fetches a fresh token and comes back.
      const refusal = node.revocations.refusal(claims);
      if (refusal === 'end_session') throw disconnectError(DisconnectCode.SessionEnded);
      if (refusal !== null) throw new ReplyError(ErrorCode.TokenExpired);
      this.#claims = claims;
      this.#selectorKeys = claimKeys(claims);
      this.#info = claims.info;
      this.#meta = claims.meta;
      lifecycle.expireAtSeconds(expiryOf(claims, settings.insecure));
      if (lifecycle.expireAt > 0 && lifecycle.expireAt <= nowSeconds()) throw new ReplyError(ErrorCode.Expired);
    } else if (settings.proxies.connect) {
      // The application backend decides connects without a token.
      const decided = await proxyConnect(settings.proxies.connect, { client: this.id, headers: this.#headers }, request);
      if (this.#state === 'closed') return { body: {} };
      this.#user = decided.user;
      this.#info = decided.info;
      this.#meta = decided.meta;
      lifecycle.expireAtSeconds(settings.insecure ? 0 : decided.expireAt);
      proxied = decided;
    } else if (settings.authRpc && !(settings.insecure || settings.allowAnonymousConnectWithoutToken)) {
      // Sign-in over the socket: only the `auth.*` sign-in RPCs, for a limited time, on a bounded number of connections.
      if (this.#state === 'closed') return { body: {} };
      if (!node.admitRestricted()) throw disconnectError(DisconnectCode.ConnectionLimit);
      lifecycle.restrict(Date.now());
    } else if (!(settings.insecure || settings.allowAnonymousConnectWithoutToken)) {
      throw disconnectError(DisconnectCode.BadRequest);
    }

    const result: ConnectResult = { client: this.id, version: node.version };
    if (proxied?.data !== undefined) result.data = proxied.data;
    // With a refresh proxy the server refreshes the connection itself: the client is not told to.
    if (lifecycle.expireAt > 0 && !settings.proxies.refresh) {
      result.expires = true;
      result.ttl = ttlUntil(lifecycle.expireAt);
    }
    if (settings.pingInterval > 0) {
      result.ping = Math.round(settings.pingInterval);
      result.pong = true;
    }
    // Server-side subscriptions from the token's `channels` claim (trusted: no permission check).
    const serverChannels = new Set([...(this.#claims?.channels ?? []), ...(proxied?.channels ?? [])].filter((channel) => channel !== ''));
    const resolved: ResolvedChannel[] = [];
    const limit = settings.clientChannelLimit;
    if (limit > 0 && serverChannels.size > limit) throw disconnectError(DisconnectCode.ChannelLimit);
    for (const channel of serverChannels) {
      const channelResult = resolveChannel(settings.channels, channel);
      if (typeof channelResult === 'number') throw disconnectError(DisconnectCode.BadRequest);
      resolved.push(channelResult);
    }
    // An event may have arrived while the server channels were checked: look once more, right before
    // the connection becomes findable by later events.
    if (this.#claims !== null && node.revocations.refusal(this.#claims) === 'end_session') throw disconnectError(DisconnectCode.SessionEnded);
    this.#state = 'connected';
    lifecycle.connected(Date.now());
    node.attach(this);
    if (resolved.length > 0) {
      const subs: Record<string, SubscribeResult> = {};
      for (const channel of resolved) {
        await this.#subscriptions.reserve(channel.channel);
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

  async #refresh(request: TokenRequest): Promise<object> {
    const token = text(request.token);
    if (token === '') throw disconnectError(DisconnectCode.BadRequest);
    const node = this.#node;
    const expired = node.settings.expiredCloseCode;
    const claims = await verifyToken(node, this.id, token, 'connection', () => new DisconnectError(expired, DISCONNECT_REASONS[expired]), () => disconnectError(DisconnectCode.InvalidToken));
    if ((claims.sub ?? '') !== this.#user) throw disconnectError(DisconnectCode.InvalidToken);
    // A refreshed token that a known event refuses: an ended session closes (4501); stale grants close
    // with 3014, so the client fetches another token and reconnects.
    const refusal = node.revocations.refusal(claims);
    if (refusal === 'end_session') throw disconnectError(DisconnectCode.SessionEnded);
    if (refusal !== null) throw disconnectError(DisconnectCode.StateInvalidated);
    const expireAt = expiryOf(claims, node.settings.insecure);
    if (expireAt > 0 && expireAt <= nowSeconds()) throw new ReplyError(ErrorCode.Expired);
    if (this.#state !== 'connected') return {};
    const previousKeys = this.#selectorKeys;
    this.#claims = claims;
    this.#selectorKeys = claimKeys(claims);
    node.reindex(this, previousKeys);
    this.#info = claims.info;
    this.#meta = claims.meta;
    this.#lifecycle.expireAtSeconds(expireAt);
    await this.#recheckOrganizations();
    return expireAt > 0 ? { client: this.id, version: node.version, expires: true, ttl: ttlUntil(expireAt) } : { client: this.id, version: node.version, expires: false };
  }

  /**
   * After a refresh: organization channels the new claims no longer grant, or whose membership the
   * database no longer lists, end with unsubscribe 2001. Token subscriptions (granted by a backend's
   * subscription token) are left to their own token.
   */
  async #recheckOrganizations(): Promise<void> {
    // Several organization channels are rare; their lookups run one after the other (cached per node).
    for (const sub of this.#subscriptions.list()) {
      if (!sub.resolved.namespace.organization_bound || sub.source === 'server') continue;
      const holds = sub.source === 'claims' ? await this.#isMember(sub.resolved) : await this.#membershipHolds(sub.resolved);
      if (!holds && this.#subscriptions.get(sub.resolved.channel) === sub) this.endSubscription(sub.resolved.channel, UnsubscribeCode.MembershipEnded);
    }
  }

  /** Server-side refresh at expiry: the refresh proxy extends the connection or it closes with 3005. */
  #refreshByProxy(): void {
    const proxy = this.#node.settings.proxies.refresh;
    if (!proxy || !this.#lifecycle.beginRefresh('')) return;
    void proxyRefresh(proxy, this.#caller()).then((decided) => {
      this.#lifecycle.endRefresh('');
      if (this.#state !== 'connected') return;
      if (decided.expired || (decided.expireAt > 0 && decided.expireAt <= nowSeconds())) {
        this.disconnect(DisconnectCode.ConnectionExpired);
        return;
      }
      this.#lifecycle.expireAtSeconds(decided.expireAt);
      if (decided.info !== undefined) this.#info = decided.info;
    });
  }

  // ---- channels ----

  async #subscribe(request: SubscribeRequest): Promise<Outcome> {
    const channel = text(request.channel);
    const subscriptions = this.#subscriptions;
    if (channel === '') throw new ReplyError(ErrorCode.UnknownChannel);
    if (subscriptions.taken(channel)) throw new ReplyError(ErrorCode.AlreadySubscribed);
    const node = this.#node;
    const settings = node.settings;
    const limit = settings.clientChannelLimit;
    if (limit > 0 && subscriptions.count >= limit) throw new ReplyError(ErrorCode.LimitExceeded);
    const resolved = this.#resolve(channel);
    const ns = resolved.namespace;
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
      const claims = await verifyToken(node, this.id, token, 'subscription', () => new ReplyError(ErrorCode.TokenExpired), () => new ReplyError(ErrorCode.PermissionDenied));
      if (!subscriptionTokenFits(claims, channel, this.#user, this.id)) throw disconnectError(DisconnectCode.InvalidToken);
      chanInfo = claims.info;
      expireAt = expiryOf(claims, settings.insecure);
      if (expireAt > 0 && expireAt <= nowSeconds()) throw new ReplyError(ErrorCode.Expired);
    } else if (!maySubscribe(resolved, this.#requester(channel))) {
      throw new ReplyError(ErrorCode.PermissionDenied);
    }
    const member = await subscriptions.during(channel, () => (token === '' && !subscribeProxy ? this.#isMember(resolved) : this.#membershipHolds(resolved)));
    if (!member) throw new ReplyError(ErrorCode.PermissionDenied);
    if (this.#state !== 'connected') return { body: {} };
    if (subscriptions.taken(channel)) throw new ReplyError(ErrorCode.AlreadySubscribed);

    const stream: StreamSubscribe = await subscriptions.during(channel, async () => {
      // Join/leave on request needs presence access as a subscriber (the subscription counts as made).
      await subscriptions.reserve(channel);
      try {
        return await positionSubscription(node.broker, settings.channels, channel, ns, request, mayRead(resolved, 'history', this.#requester(channel)));
      } catch (error) {
        subscriptions.abandon(channel);
        throw error;
      }
    });
    const askedJoinLeave = request.join_leave === true && mayRead(resolved, 'presence', this.#requester(channel, true));
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

  #activate(
    resolved: ResolvedChannel,
    source: Subscription['source'],
    chanInfo: JsonValue | undefined,
    expireAt: number,
    askedJoinLeave: boolean,
    stream?: Pick<StreamSubscribe, 'position' | 'delta' | 'epoch'>,
  ): void {
    const subscriptions = this.#subscriptions;
    if (this.#state !== 'connected') {
      subscriptions.abandon(resolved.channel);
      return;
    }
    if (source !== 'server' && this.#membershipEndedMeanwhile(resolved)) {
      // The membership ended while the subscribe was being answered: the reply went out, the push ends it.
      subscriptions.abandon(resolved.channel);
      this.#pushUnsubscribe(resolved.channel, UnsubscribeCode.MembershipEnded);
      return;
    }
    const going = { resolved, source, chanInfo, expireAt, askedJoinLeave, ...(stream ? { stream } : {}) };
    // Publications between the reply's position and the first live one were lost.
    if (!subscriptions.activate(going)) this.disconnect(DisconnectCode.InsufficientState);
  }

  #unsubscribe(request: ChannelRequest): object {
    const sub = this.#subscriptions.get(text(request.channel));
    if (sub) this.#subscriptions.remove(sub);
    return {};
  }

  async #publish(request: PublishRequest): Promise<object> {
    const channel = text(request.channel);
    if (channel === '') throw new ReplyError(ErrorCode.UnknownChannel);
    if (request.data === undefined) throw new ReplyError(ErrorCode.BadRequest);
    const node = this.#node;
    const resolved = this.#resolve(channel);
    const publishProxy = resolved.namespace.publish_proxy_enabled ? node.settings.proxies.publish : null;
    const requester: Requester = { user: this.#user, claims: this.#claims, subscriber: this.#subscriptions.get(channel) !== undefined, insecure: node.settings.insecure };
    if (!mayPublish(resolved, requester, publishProxy !== null) || !(await this.#isMember(resolved))) throw new ReplyError(ErrorCode.PermissionDenied);
    const info = this.clientInfo(this.#subscriptions.get(channel)?.chanInfo);
    if (!publishProxy) {
      const json = JSON.stringify(request.data);
      if (json === undefined) throw new TypeError('data must be JSON');
      await node.publishJson(channel, json, info);
      return {};
    }
    // The application backend decides, and may replace the data or keep it out of history.
    const decided = await proxyPublish(publishProxy, this.#caller(), channel, request.data);
    await node.publishJson(channel, JSON.stringify(decided.data), info, { skipHistory: decided.skipHistory });
    return {};
  }

  /** Checks a presence request and returns its channel (108 when the namespace keeps no presence). */
  async #presenceChannel(request: ChannelRequest): Promise<string> {
    const channel = text(request.channel);
    if (channel === '') throw new ReplyError(ErrorCode.UnknownChannel);
    const resolved = this.#resolve(channel);
    if (!resolved.namespace.presence) throw new ReplyError(ErrorCode.NotAvailable);
    if (!mayRead(resolved, 'presence', this.#requester(channel)) || !(await this.#isMember(resolved))) throw new ReplyError(ErrorCode.PermissionDenied);
    return channel;
  }

  /** The `history` command: 108 when the namespace keeps none, 103 without history access. */
  async #history(request: HistoryRequest): Promise<object> {
    const channel = text(request.channel);
    if (channel === '') throw disconnectError(DisconnectCode.BadRequest);
    const resolved = this.#resolve(channel);
    if (!keepsHistory(resolved.namespace)) throw new ReplyError(ErrorCode.NotAvailable);
    if (!mayRead(resolved, 'history', this.#requester(channel)) || !(await this.#isMember(resolved))) throw new ReplyError(ErrorCode.PermissionDenied);
    const settings = this.#node.settings;
    return historyResult(this.#node.broker, channel, historyQuery(request, streamOptions(resolved.namespace, settings.channels).metaTtl));
  }

  async #rpc(request: RpcRequest): Promise<object> {
    const method = text(request.method);
    // A handler may take a while: earlier replies of the frame should not wait for it.
    this.#transport.flush();
    const data = await this.#node.rpc.call(method, request.data, { ...this.#caller(), method, claims: this.#claims, address: this.#address });
    return data === undefined ? {} : { data };
  }

  async #subRefresh(request: SubRefreshRequest): Promise<object> {
    const channel = text(request.channel);
    const token = text(request.token);
    if (channel === '' || token === '') throw disconnectError(DisconnectCode.BadRequest);
    const subscriptions = this.#subscriptions;
    const sub = subscriptions.get(channel);
    if (!sub) throw new ReplyError(ErrorCode.PermissionDenied);
    const claims = await verifyToken(
      this.#node,
      this.id,
      token,
      'subscription',
      () => disconnectError(DisconnectCode.SubscriptionExpired),
      () => disconnectError(DisconnectCode.InvalidToken),
    );
    if (!subscriptionTokenFits(claims, channel, this.#user, this.id)) throw disconnectError(DisconnectCode.InvalidToken);
    if (!(await this.#membershipHolds(sub.resolved))) {
      // The subscription token is fresh but the membership behind the organization channel has ended.
      this.endSubscription(channel, UnsubscribeCode.MembershipEnded);
      throw new ReplyError(ErrorCode.PermissionDenied);
    }
    if (subscriptions.get(channel) !== sub) throw new ReplyError(ErrorCode.PermissionDenied);
    const expireAt = expiryOf(claims, this.#node.settings.insecure);
    subscriptions.extend(sub, expireAt);
    return expireAt > 0 ? { expires: true, ttl: ttlUntil(expireAt) } : { expires: false };
  }

  /** Server-side refresh of a proxied subscription: extended, or ended with unsubscribe 2501 (the client resubscribes). */
  #subRefreshByProxy(sub: Subscription): void {
    const channel = sub.resolved.channel;
    const proxy = this.#subRefreshProxy(sub.resolved.namespace);
    if (!proxy || !this.#lifecycle.beginRefresh(channel)) return;
    void proxyRefresh(proxy, this.#caller(), channel).then((decided) => {
      this.#lifecycle.endRefresh(channel);
      if (this.#subscriptions.get(channel) !== sub) return;
      if (decided.expired || (decided.expireAt > 0 && decided.expireAt <= nowSeconds())) {
        this.endSubscription(channel, UnsubscribeCode.Expired);
        return;
      }
      this.#subscriptions.extend(sub, decided.expireAt);
    });
  }

  /** The sub_refresh proxy, where the namespace uses it. */
  #subRefreshProxy(ns: ResolvedChannel['namespace']) {
    return ns.sub_refresh_proxy_enabled ? this.#node.settings.proxies.subRefresh : null;
  }

  // ---- helpers ----

  /** Who this connection is, for proxy requests and RPC handlers. */
  #caller(): ProxyCaller {
    return { client: this.id, user: this.#user, meta: this.#meta, headers: this.#headers };
  }

  /** The connection as the permission rules see it for `channel` (`subscribed`: counts as subscribed whatever the state). */
  #requester(channel: string, subscribed = false): Requester {
    return { user: this.#user, claims: this.#claims, subscriber: subscribed || this.#subscriptions.taken(channel), insecure: this.#node.settings.insecure };
  }

  #resolve(channel: string): ResolvedChannel {
    const resolved = resolveChannel(this.#node.settings.channels, channel);
    if (typeof resolved === 'number') throw new ReplyError(resolved);
    return resolved;
  }

  /**
   * `org:<id>` channels need the token's organization to be `<id>` and, with database membership, the
   * user to be a member now: no known event has ended the membership the token claims, and the
   * organizations tables (through the node's cache) list the user.
   */
  async #isMember(resolved: ResolvedChannel): Promise<boolean> {
    return organizationAllowed(resolved, this.#claims, this.#node.settings.insecure) && (await this.#membershipHolds(resolved));
  }

  /** The database part of {@link #isMember} (subscriptions granted by a subscription token skip the claim). */
  async #membershipHolds(resolved: ResolvedChannel): Promise<boolean> {
    const node = this.#node;
    if (!membershipChecked(resolved, node.settings.insecure, node.settings.organizationMembership)) return true;
    if (node.revocations.membershipEnded(this.#claims, resolved.rest)) return false;
    return node.membership.isMember(this.#user, resolved.rest);
  }

  /** A membership-ending event for an organization channel arrived while its subscribe was answered. */
  #membershipEndedMeanwhile(resolved: ResolvedChannel): boolean {
    return resolved.namespace.organization_bound && !this.#node.settings.insecure && this.#node.revocations.membershipEnded(this.#claims, resolved.rest);
  }

  #pushUnsubscribe(channel: string, code: UnsubscribeCode): void {
    this.#transport.send(this.codec.encodePush({ channel, unsubscribe: { code, reason: UNSUBSCRIBE_REASONS[code] } }));
  }
}
