/** The connection token's commands: `connect`, in-band `refresh`, and the server-side refresh through the refresh proxy. */
import { resolveChannel, type ResolvedChannel } from '../channels/resolve.js';
import { DISCONNECT_REASONS, DisconnectCode, ErrorCode, UnsubscribeCode } from '../protocol/codes.js';
import type { ConnectRequest, ConnectResult, JsonValue, SubscribeResult, TokenRequest } from '../protocol/types.js';
import { proxyConnect, proxyRefresh } from '../proxy/calls.js';
import { DisconnectError, RpcError } from '../rpc/errors.js';
import { activate, isMember, membershipHolds } from './channels.js';
import { expiryOf, nowSeconds, ttlUntil, verifyToken } from './lifecycle.js';
import { disconnectError, text, type CommandScope, type Outcome } from './scope.js';

/**
 * `connect`: with a token (verified, checked against known revocation events), through the connect
 * proxy, as a restricted sign-in connection, or anonymously where allowed; then the token's server-side
 * channels, which go live after the reply.
 */
export async function connect(scope: CommandScope, request: ConnectRequest): Promise<Outcome> {
  const { node, identity, lifecycle } = scope;
  const settings = node.settings;
  const token = text(request.token);
  let proxied: { readonly data: JsonValue | undefined; readonly channels: readonly string[] } | null = null;
  if (token !== '') {
    const claims = await verifyToken(node, identity.id, token, 'connection', () => new RpcError(ErrorCode.TokenExpired), () => disconnectError(DisconnectCode.InvalidToken));
    if (scope.state() === 'closed') return { body: {} };
    identity.claimUser(claims.sub ?? '');
    if (identity.user === '' && settings.disallowAnonymousConnectionTokens) throw disconnectError(DisconnectCode.PermissionDenied);
    // A token a known revocation event refuses: an ended session is told so (4501, terminal); stale
    // grants (role, membership) get 109, so the client fetches a fresh token and comes back.
    const refusal = node.revocations.refusal(claims);
    if (refusal === 'end_session') throw disconnectError(DisconnectCode.SessionEnded);
    if (refusal !== null) throw new RpcError(ErrorCode.TokenExpired);
    identity.adopt(claims);
    lifecycle.expireAtSeconds(expiryOf(claims, settings.insecure));
    if (lifecycle.expireAt > 0 && lifecycle.expireAt <= nowSeconds()) throw new RpcError(ErrorCode.Expired);
  } else if (settings.proxies.connect) {
    // The application backend decides connects without a token.
    const decided = await proxyConnect(settings.proxies.connect, { client: identity.id, headers: identity.headers, protocol: identity.protocol }, request);
    if (scope.state() === 'closed') return { body: {} };
    identity.adoptProxied(decided);
    lifecycle.expireAtSeconds(settings.insecure ? 0 : decided.expireAt);
    proxied = decided;
  } else if (settings.authRpc && !(settings.insecure || settings.allowAnonymousConnectWithoutToken)) {
    // Sign-in over the socket: only the `auth.*` sign-in RPCs, for a limited time, on a bounded number of connections.
    if (scope.state() === 'closed') return { body: {} };
    if (!node.admitRestricted()) throw disconnectError(DisconnectCode.ConnectionLimit);
    lifecycle.restrict(Date.now());
  } else if (!(settings.insecure || settings.allowAnonymousConnectWithoutToken)) {
    throw disconnectError(DisconnectCode.BadRequest);
  }

  const result: ConnectResult = { client: identity.id, version: node.version };
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
  const resolved = serverChannels(scope, [...(identity.claims?.channels ?? []), ...(proxied?.channels ?? [])]);
  // An event may have arrived while the server channels were checked: look once more, right before
  // the connection becomes findable by later events.
  if (identity.claims !== null && node.revocations.refusal(identity.claims) === 'end_session') throw disconnectError(DisconnectCode.SessionEnded);
  scope.connected();
  if (resolved.length > 0) {
    const subs: Record<string, SubscribeResult> = {};
    for (const channel of resolved) {
      await scope.subscriptions.reserve(channel.channel);
      subs[channel.channel] = {};
    }
    result.subs = subs;
  }
  return {
    body: result,
    after: () => {
      for (const channel of resolved) activate(scope, { resolved: channel, source: 'server', chanInfo: undefined, expireAt: 0, askedJoinLeave: false });
    },
  };
}

/** The token's (or connect proxy's) channels, resolved; 3501 for a bad name, 3012 over the channel limit. */
function serverChannels(scope: CommandScope, names: readonly string[]): ResolvedChannel[] {
  const settings = scope.node.settings;
  const channels = new Set(names.filter((channel) => channel !== ''));
  const limit = settings.clientChannelLimit;
  if (limit > 0 && channels.size > limit) throw disconnectError(DisconnectCode.ChannelLimit);
  const resolved: ResolvedChannel[] = [];
  for (const channel of channels) {
    const channelResult = resolveChannel(settings.channels, channel);
    if (typeof channelResult === 'number') throw disconnectError(DisconnectCode.BadRequest);
    resolved.push(channelResult);
  }
  return resolved;
}

/** In-band `refresh`: a new token for the same user; the connection is re-filed and its organization channels checked again. */
export async function refresh(scope: CommandScope, request: TokenRequest): Promise<object> {
  const token = text(request.token);
  if (token === '') throw disconnectError(DisconnectCode.BadRequest);
  const { node, identity } = scope;
  const expired = node.settings.expiredCloseCode;
  const claims = await verifyToken(node, identity.id, token, 'connection', () => new DisconnectError(expired, DISCONNECT_REASONS[expired]), () => disconnectError(DisconnectCode.InvalidToken));
  if ((claims.sub ?? '') !== identity.user) throw disconnectError(DisconnectCode.InvalidToken);
  // A refreshed token that a known event refuses: an ended session closes (4501); stale grants close
  // with 3014, so the client fetches another token and reconnects.
  const refusal = node.revocations.refusal(claims);
  if (refusal === 'end_session') throw disconnectError(DisconnectCode.SessionEnded);
  if (refusal !== null) throw disconnectError(DisconnectCode.StateInvalidated);
  const expireAt = expiryOf(claims, node.settings.insecure);
  if (expireAt > 0 && expireAt <= nowSeconds()) throw new RpcError(ErrorCode.Expired);
  if (scope.state() !== 'connected') return {};
  const previousKeys = identity.selectorKeys;
  identity.adopt(claims);
  node.reindex(scope.connection, previousKeys);
  scope.lifecycle.expireAtSeconds(expireAt);
  await recheckOrganizations(scope);
  return expireAt > 0 ? { client: identity.id, version: node.version, expires: true, ttl: ttlUntil(expireAt) } : { client: identity.id, version: node.version, expires: false };
}

/**
 * After a refresh: organization channels the new claims no longer grant, or whose membership the
 * database no longer lists, end with unsubscribe 2001. Token subscriptions (granted by a backend's
 * subscription token) are left to their own token.
 */
async function recheckOrganizations(scope: CommandScope): Promise<void> {
  // Several organization channels are rare; their lookups run one after the other (cached per node).
  for (const sub of scope.subscriptions.list()) {
    if (!sub.resolved.namespace.organization_bound || sub.source === 'server') continue;
    const holds = sub.source === 'claims' ? await isMember(scope, sub.resolved) : await membershipHolds(scope, sub.resolved);
    if (!holds && scope.subscriptions.get(sub.resolved.channel) === sub) scope.endSubscription(sub.resolved.channel, UnsubscribeCode.MembershipEnded);
  }
}

/** Server-side refresh at expiry: the refresh proxy extends the connection or it closes with 3005. */
export function refreshByProxy(scope: CommandScope): void {
  const proxy = scope.node.settings.proxies.refresh;
  if (!proxy || !scope.lifecycle.beginRefresh('')) return;
  void proxyRefresh(proxy, scope.identity.caller()).then((decided) => {
    scope.lifecycle.endRefresh('');
    if (scope.state() !== 'connected') return;
    if (decided.expired || (decided.expireAt > 0 && decided.expireAt <= nowSeconds())) {
      scope.disconnect(DisconnectCode.ConnectionExpired);
      return;
    }
    scope.lifecycle.expireAtSeconds(decided.expireAt);
    if (decided.info !== undefined) scope.identity.updateInfo(decided.info);
  });
}
