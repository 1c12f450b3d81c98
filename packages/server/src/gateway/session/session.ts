import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { allowedWhileRestricted } from '../auth-rpc/restricted.js';
import type { GatewayClaims } from '../auth/claims.js';
import { DISCONNECT_REASONS, DisconnectCode, ErrorCode, UNSUBSCRIBE_REASONS, UnsubscribeCode } from '../protocol/codes.js';
import { JSON_CODEC, MalformedFrameError, type DecodedCommand, type ProtocolCodec } from '../protocol/codec.js';
import type { ClientInfo, Command, JsonValue, RpcRequest } from '../protocol/types.js';
import type { SelectorKey } from '../revocation/selectors.js';
import { DisconnectError, RpcError } from '../rpc/errors.js';
import { checkSubscriptionExpiry, history, presenceChannel, publish, subRefresh, subscribe, unsubscribe } from './channels.js';
import { connect, refresh, refreshByProxy } from './connect.js';
import type { NodeConnection, SessionNode, Subscriber } from './contracts.js';
import { Identity } from './identity.js';
import { Lifecycle } from './lifecycle.js';
import { disconnectError, text, type CommandScope, type Outcome, type SessionState } from './scope.js';
import { Subscriptions } from './subscriptions.js';
import { Transport, type FrameReceiver } from './transport.js';

type CommandKind = Exclude<DecodedCommand['kind'], null>;

/**
 * One WebSocket connection speaking the client protocol: the command state machine (`new` → `connected`,
 * or `failed` after a refused connect; `closed` at the end) dispatching to the commands. Writing and
 * reading are the {@link Transport}'s, deadlines the {@link Lifecycle}'s, channels the
 * {@link Subscriptions}', who the connection is the {@link Identity}'s.
 */
export class Session implements NodeConnection, Subscriber {
  readonly #node: SessionNode;
  readonly #identity: Identity;
  readonly #transport: Transport;
  readonly #lifecycle: Lifecycle;
  readonly #subscriptions: Subscriptions;
  readonly #scope: CommandScope;
  #state: SessionState = 'new';

  /**
   * @param headers The request headers kept for RPC handlers and proxies.
   * @param address The socket's peer address (the client, or the proxy in front of it), or the socket to read it from when needed.
   * @param codec The wire format chosen at upgrade: commands are decoded, replies and pushes encoded by it alone.
   * @param socket The socket `ws` was upgraded on: frames are written to it whole (`null`: through `ws.send`).
   */
  constructor(
    node: SessionNode,
    ws: WebSocket,
    headers: Readonly<Record<string, string>>,
    address: string | { readonly remoteAddress?: string | undefined } = '',
    readonly codec: ProtocolCodec = JSON_CODEC,
    socket: Duplex | null = null,
  ) {
    this.#node = node;
    this.#identity = new Identity(headers, address, codec.format);
    this.#lifecycle = new Lifecycle(node.settings, Date.now());
    this.#subscriptions = new Subscriptions(node, this, this.#identity);
    const parts = new Session.#Parts(this);
    this.#scope = parts;
    this.#transport = new Transport(ws, node.settings.queueMaxSize, parts, codec, socket);
  }

  /**
   * What the commands and the transport work on: the session's parts and the few state changes they
   * may make, as prototype methods (nothing allocated per connection beyond this object).
   */
  static readonly #Parts = class implements CommandScope, FrameReceiver {
    readonly node: SessionNode;
    readonly identity: Identity;
    readonly lifecycle: Lifecycle;
    readonly subscriptions: Subscriptions;
    constructor(readonly connection: Session) {
      this.node = connection.#node;
      this.identity = connection.#identity;
      this.lifecycle = connection.#lifecycle;
      this.subscriptions = connection.#subscriptions;
    }
    state(): SessionState {
      return this.connection.#state;
    }
    connected(): void {
      const session = this.connection;
      session.#state = 'connected';
      session.#lifecycle.connected(Date.now());
      session.#node.attach(session);
    }
    disconnect(code: number): void {
      this.connection.disconnect(code);
    }
    endSubscription(channel: string, code: UnsubscribeCode): void {
      this.connection.endSubscription(channel, code);
    }
    pushUnsubscribe(channel: string, code: UnsubscribeCode): void {
      this.connection.#pushUnsubscribe(channel, code);
    }
    admit(): boolean {
      return this.connection.#admit();
    }
    receive(frame: Buffer): Promise<void> {
      return this.connection.#handleFrame(frame);
    }
    crashed(error: unknown): void {
      this.node.logger.error({ err: error, client: this.connection.id }, 'gateway command failed');
      this.connection.disconnect(DisconnectCode.InternalError);
    }
    closed(): void {
      this.connection.#cleanup();
    }
  };

  get id(): string {
    return this.#identity.id;
  }

  get user(): string {
    return this.#identity.user;
  }

  get claims(): GatewayClaims | null {
    return this.#identity.claims;
  }

  get selectorKeys(): readonly SelectorKey[] {
    return this.#identity.selectorKeys;
  }

  get connected(): boolean {
    return this.#state === 'connected';
  }

  get restricted(): boolean {
    return this.#lifecycle.restricted;
  }

  /** Identity as shown in presence, join/leave and client publications. */
  clientInfo(chanInfo?: JsonValue): ClientInfo {
    return this.#identity.clientInfo(chanInfo);
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
    if (now < lifecycle.wakeAt && !this.#subscriptions.expiring) return;
    if (this.#state === 'new' || this.#state === 'failed') {
      // A connect still being verified is not stale: it gets its answer (or its own timeout) first.
      if (lifecycle.stale(now) && !(this.#state === 'new' && this.#transport.busy)) this.disconnect(DisconnectCode.Stale);
      return;
    }
    if (this.#state !== 'connected') return;
    switch (lifecycle.due(now)) {
      case 'restricted_timeout':
        this.disconnect(DisconnectCode.AuthenticationTimeout);
        return;
      case 'no_pong':
        this.disconnect(DisconnectCode.NoPong);
        return;
      case 'expired':
        this.disconnect(this.#node.settings.expiredCloseCode);
        return;
      case 'refresh':
        refreshByProxy(this.#scope);
        break;
      case 'ok':
        break;
    }
    if (this.#subscriptions.expiring && !checkSubscriptionExpiry(this.#scope, now)) return;
    if (lifecycle.pingDue(now)) {
      this.#transport.ping();
      lifecycle.pinged(now);
    }
  }

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
      this.#transport.send(this.codec.encodeError(id, new RpcError(ErrorCode.PermissionDenied).toBody()));
      return true;
    }
    try {
      if (refusal !== undefined) throw new RpcError(refusal.code, refusal.message);
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
    if (error instanceof RpcError) {
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
    const scope = this.#scope;
    const presence = this.#node.presence;
    switch (kind) {
      case 'connect':
        return connect(scope, command.connect ?? {});
      case 'subscribe':
        return subscribe(scope, command.subscribe ?? {});
      case 'unsubscribe':
        return { body: unsubscribe(scope, command.unsubscribe ?? {}) };
      case 'publish':
        return { body: await publish(scope, command.publish ?? {}) };
      case 'presence':
        return { body: { presence: await presence.get(await presenceChannel(scope, command.presence ?? {})) } };
      case 'presence_stats':
        return { body: await presence.stats(await presenceChannel(scope, command.presence_stats ?? {})) };
      case 'rpc':
        return { body: await this.#rpc(command.rpc ?? {}) };
      case 'refresh':
        return { body: await refresh(scope, command.refresh ?? {}) };
      case 'sub_refresh':
        return { body: await subRefresh(scope, command.sub_refresh ?? {}) };
      case 'ping':
        return { body: {} };
      case 'history':
        return { body: await history(scope, command.history ?? {}) };
      default:
        throw disconnectError(DisconnectCode.BadRequest);
    }
  }

  async #rpc(request: RpcRequest): Promise<object> {
    const method = text(request.method);
    // A handler may take a while: earlier replies of the frame should not wait for it.
    this.#transport.flush();
    const data = await this.#node.rpc.call(method, request.data, this.#identity.rpcCaller(method));
    return data === undefined ? {} : { data };
  }

  #pushUnsubscribe(channel: string, code: UnsubscribeCode): void {
    this.#transport.send(this.codec.encodePush({ channel, unsubscribe: { code, reason: UNSUBSCRIBE_REASONS[code] } }));
  }
}
