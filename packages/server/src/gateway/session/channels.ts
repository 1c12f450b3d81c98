/** The channel commands: subscribe (and its going live), unsubscribe, publish, presence, history, sub_refresh. */
import { keepsHistory } from '../channels/options.js';
import { resolveChannel, type ResolvedChannel } from '../channels/resolve.js';
import { historyQuery, historyResult, positionSubscription, streamOptions, type StreamSubscribe } from '../history/position.js';
import { DisconnectCode, ErrorCode, UnsubscribeCode } from '../protocol/codes.js';
import type { ChannelRequest, HistoryRequest, JsonValue, PublishRequest, SubRefreshRequest, SubscribeRequest, SubscribeResult } from '../protocol/types.js';
import { proxyPublish, proxyRefresh, proxySubscribe } from '../proxy/calls.js';
import { RpcError } from '../rpc/errors.js';
import { expiryOf, nowSeconds, ttlUntil, verifyToken } from './lifecycle.js';
import { mayPublish, mayRead, maySubscribe, membershipChecked, organizationAllowed, subscriptionTokenFits, type Requester } from './permissions.js';
import { disconnectError, text, type CommandScope, type Outcome } from './scope.js';
import type { Going, Subscription } from './subscriptions.js';

/** The connection as the permission rules see it for `channel` (`subscribed`: counts as subscribed whatever the state). */
function requester(scope: CommandScope, channel: string, subscribed = false): Requester {
  const { identity } = scope;
  return { user: identity.user, claims: identity.claims, subscriber: subscribed || scope.subscriptions.taken(channel), insecure: scope.node.settings.insecure };
}

function resolve(scope: CommandScope, channel: string): ResolvedChannel {
  const resolved = resolveChannel(scope.node.settings.channels, channel);
  if (typeof resolved === 'number') throw new RpcError(resolved);
  return resolved;
}

/**
 * `org:<id>` channels need the token's organization to be `<id>` and, with database membership, the
 * user to be a member now: no known event has ended the membership the token claims, and the
 * organizations tables (through the node's cache) list the user.
 */
export async function isMember(scope: CommandScope, resolved: ResolvedChannel): Promise<boolean> {
  return organizationAllowed(resolved, scope.identity.claims, scope.node.settings.insecure) && (await membershipHolds(scope, resolved));
}

/** The database part of {@link isMember} (subscriptions granted by a subscription token skip the claim). */
export async function membershipHolds(scope: CommandScope, resolved: ResolvedChannel): Promise<boolean> {
  const { node, identity } = scope;
  if (!membershipChecked(resolved, node.settings.insecure, node.settings.organizationMembership)) return true;
  if (node.revocations.membershipEnded(identity.claims, resolved.rest)) return false;
  return node.membership.isMember(identity.user, resolved.rest);
}

/** The sub_refresh proxy, where the namespace uses it. */
function subRefreshProxy(scope: CommandScope, ns: ResolvedChannel['namespace']) {
  return ns.sub_refresh_proxy_enabled ? scope.node.settings.proxies.subRefresh : null;
}

/**
 * `subscribe`: allowed by a subscription token, the subscribe proxy, or the namespace's rules and the
 * organization's membership; positioned on the channel's stream (recovering missed publications when
 * asked). The subscription goes live after its reply is queued.
 */
export async function subscribe(scope: CommandScope, request: SubscribeRequest): Promise<Outcome> {
  const { node, identity, subscriptions } = scope;
  const channel = text(request.channel);
  if (channel === '') throw new RpcError(ErrorCode.UnknownChannel);
  if (subscriptions.taken(channel)) throw new RpcError(ErrorCode.AlreadySubscribed);
  const settings = node.settings;
  const limit = settings.clientChannelLimit;
  if (limit > 0 && subscriptions.count >= limit) throw new RpcError(ErrorCode.LimitExceeded);
  const resolved = resolve(scope, channel);
  const ns = resolved.namespace;
  const token = text(request.token);
  if (resolved.isPrivate && token === '') throw new RpcError(ErrorCode.PermissionDenied);

  let chanInfo: JsonValue | undefined;
  let expireAt = 0;
  let proxiedData: JsonValue | undefined;
  const subscribeProxy = ns.subscribe_proxy_enabled && resolved.users === null ? settings.proxies.subscribe : null;
  if (token === '' && subscribeProxy) {
    // The application backend decides (user-limited channels and subscription tokens decide themselves).
    const decided = await proxySubscribe(subscribeProxy, identity.caller(), channel, { data: request.data });
    chanInfo = decided.info;
    expireAt = settings.insecure ? 0 : decided.expireAt;
    proxiedData = decided.data;
  } else if (token !== '') {
    const claims = await verifyToken(node, identity.id, token, 'subscription', () => new RpcError(ErrorCode.TokenExpired), () => new RpcError(ErrorCode.PermissionDenied));
    if (!subscriptionTokenFits(claims, channel, identity.user, identity.id)) throw disconnectError(DisconnectCode.InvalidToken);
    chanInfo = claims.info;
    expireAt = expiryOf(claims, settings.insecure);
    if (expireAt > 0 && expireAt <= nowSeconds()) throw new RpcError(ErrorCode.Expired);
  } else if (!maySubscribe(resolved, requester(scope, channel))) {
    throw new RpcError(ErrorCode.PermissionDenied);
  }
  const member = await subscriptions.during(channel, () => (token === '' && !subscribeProxy ? isMember(scope, resolved) : membershipHolds(scope, resolved)));
  if (!member) throw new RpcError(ErrorCode.PermissionDenied);
  if (scope.state() !== 'connected') return { body: {} };
  if (subscriptions.taken(channel)) throw new RpcError(ErrorCode.AlreadySubscribed);

  // Join/leave on request needs presence access as a subscriber (the subscription counts as made).
  const askedJoinLeave = request.join_leave === true && mayRead(resolved, 'presence', requester(scope, channel, true));
  const stream: StreamSubscribe = await subscriptions.during(channel, async () => {
    await subscriptions.reserve(channel);
    try {
      return await positionSubscription(node.broker, settings.channels, channel, ns, request, mayRead(resolved, 'history', requester(scope, channel)));
    } catch (error) {
      subscriptions.abandon(channel);
      throw error;
    }
  });
  const result: SubscribeResult = stream.result;
  if (proxiedData !== undefined) result.data = proxiedData;
  const source = token !== '' ? 'token' : subscribeProxy ? 'proxy' : 'claims';
  // A proxied subscription with a sub_refresh proxy is refreshed by the server, not the client.
  if (expireAt > 0 && !(source === 'proxy' && subRefreshProxy(scope, ns))) {
    result.expires = true;
    result.ttl = ttlUntil(expireAt);
  }
  return { body: result, after: () => activate(scope, { resolved, source, chanInfo, expireAt, askedJoinLeave, stream }) };
}

/** Makes a reserved subscription live once its reply is queued (or gives the place up). */
export function activate(scope: CommandScope, going: Going): void {
  const { node, identity, subscriptions } = scope;
  const { resolved, source } = going;
  if (scope.state() !== 'connected') {
    subscriptions.abandon(resolved.channel);
    return;
  }
  if (source !== 'server' && resolved.namespace.organization_bound && !node.settings.insecure && node.revocations.membershipEnded(identity.claims, resolved.rest)) {
    // The membership ended while the subscribe was being answered: the reply went out, the push ends it.
    subscriptions.abandon(resolved.channel);
    scope.pushUnsubscribe(resolved.channel, UnsubscribeCode.MembershipEnded);
    return;
  }
  // Publications between the reply's position and the first live one were lost.
  if (!subscriptions.activate(going)) scope.disconnect(DisconnectCode.InsufficientState);
}

export function unsubscribe(scope: CommandScope, request: ChannelRequest): object {
  const sub = scope.subscriptions.get(text(request.channel));
  if (sub) scope.subscriptions.remove(sub);
  return {};
}

/** Client `publish`: allowed by the namespace (or decided by the publish proxy, which may replace the data). */
export async function publish(scope: CommandScope, request: PublishRequest): Promise<object> {
  const { node, identity, subscriptions } = scope;
  const channel = text(request.channel);
  if (channel === '') throw new RpcError(ErrorCode.UnknownChannel);
  if (request.data === undefined) throw new RpcError(ErrorCode.BadRequest);
  const resolved = resolve(scope, channel);
  const publishProxy = resolved.namespace.publish_proxy_enabled ? node.settings.proxies.publish : null;
  const subscription = subscriptions.get(channel);
  const who: Requester = { user: identity.user, claims: identity.claims, subscriber: subscription !== undefined, insecure: node.settings.insecure };
  if (!mayPublish(resolved, who, publishProxy !== null) || !(await isMember(scope, resolved))) throw new RpcError(ErrorCode.PermissionDenied);
  const info = identity.clientInfo(subscriptions.get(channel)?.chanInfo);
  if (!publishProxy) {
    const json = JSON.stringify(request.data);
    if (json === undefined) throw new TypeError('data must be JSON');
    await node.publishJson(channel, json, info);
    return {};
  }
  // The application backend decides, and may replace the data or keep it out of history.
  const decided = await proxyPublish(publishProxy, identity.caller(), channel, request.data);
  await node.publishJson(channel, JSON.stringify(decided.data), info, { skipHistory: decided.skipHistory });
  return {};
}

/** Checks a presence request and returns its channel (108 when the namespace keeps no presence). */
export async function presenceChannel(scope: CommandScope, request: ChannelRequest): Promise<string> {
  const channel = text(request.channel);
  if (channel === '') throw new RpcError(ErrorCode.UnknownChannel);
  const resolved = resolve(scope, channel);
  if (!resolved.namespace.presence) throw new RpcError(ErrorCode.NotAvailable);
  if (!mayRead(resolved, 'presence', requester(scope, channel)) || !(await isMember(scope, resolved))) throw new RpcError(ErrorCode.PermissionDenied);
  return channel;
}

/** The `history` command: 108 when the namespace keeps none, 103 without history access. */
export async function history(scope: CommandScope, request: HistoryRequest): Promise<object> {
  const channel = text(request.channel);
  if (channel === '') throw disconnectError(DisconnectCode.BadRequest);
  const resolved = resolve(scope, channel);
  if (!keepsHistory(resolved.namespace)) throw new RpcError(ErrorCode.NotAvailable);
  if (!mayRead(resolved, 'history', requester(scope, channel)) || !(await isMember(scope, resolved))) throw new RpcError(ErrorCode.PermissionDenied);
  const settings = scope.node.settings;
  return historyResult(scope.node.broker, channel, historyQuery(request, streamOptions(resolved.namespace, settings.channels).metaTtl));
}

/** `sub_refresh`: a new subscription token extends the subscription (the membership behind it still holding). */
export async function subRefresh(scope: CommandScope, request: SubRefreshRequest): Promise<object> {
  const { identity, subscriptions } = scope;
  const channel = text(request.channel);
  const token = text(request.token);
  if (channel === '' || token === '') throw disconnectError(DisconnectCode.BadRequest);
  const sub = subscriptions.get(channel);
  if (!sub) throw new RpcError(ErrorCode.PermissionDenied);
  const claims = await verifyToken(
    scope.node,
    identity.id,
    token,
    'subscription',
    () => disconnectError(DisconnectCode.SubscriptionExpired),
    () => disconnectError(DisconnectCode.InvalidToken),
  );
  if (!subscriptionTokenFits(claims, channel, identity.user, identity.id)) throw disconnectError(DisconnectCode.InvalidToken);
  if (!(await membershipHolds(scope, sub.resolved))) {
    // The subscription token is fresh but the membership behind the organization channel has ended.
    scope.endSubscription(channel, UnsubscribeCode.MembershipEnded);
    throw new RpcError(ErrorCode.PermissionDenied);
  }
  if (subscriptions.get(channel) !== sub) throw new RpcError(ErrorCode.PermissionDenied);
  const expireAt = expiryOf(claims, scope.node.settings.insecure);
  subscriptions.extend(sub, expireAt);
  return expireAt > 0 ? { expires: true, ttl: ttlUntil(expireAt) } : { expires: false };
}

/**
 * Subscription expiry at a tick: proxied subscriptions are refreshed through the sub_refresh proxy;
 * others past their grace close the connection (3006). Returns false when the connection was closed.
 */
export function checkSubscriptionExpiry(scope: CommandScope, now: number): boolean {
  const delay = scope.node.settings.expiredSubCloseDelay;
  for (const sub of scope.subscriptions.list()) {
    if (sub.expireAt === 0) continue;
    if (sub.source === 'proxy' && now >= sub.expireAt * 1000 && subRefreshProxy(scope, sub.resolved.namespace)) {
      subRefreshByProxy(scope, sub);
    } else if (now >= (sub.expireAt + delay) * 1000) {
      scope.disconnect(DisconnectCode.SubscriptionExpired);
      return false;
    }
  }
  return true;
}

/** Server-side refresh of a proxied subscription: extended, or ended with unsubscribe 2501 (the client resubscribes). */
function subRefreshByProxy(scope: CommandScope, sub: Subscription): void {
  const channel = sub.resolved.channel;
  const proxy = subRefreshProxy(scope, sub.resolved.namespace);
  if (!proxy || !scope.lifecycle.beginRefresh(channel)) return;
  void proxyRefresh(proxy, scope.identity.caller(), channel).then((decided) => {
    scope.lifecycle.endRefresh(channel);
    if (scope.subscriptions.get(channel) !== sub) return;
    if (decided.expired || (decided.expireAt > 0 && decided.expireAt <= nowSeconds())) {
      scope.endSubscription(channel, UnsubscribeCode.Expired);
      return;
    }
    scope.subscriptions.extend(sub, decided.expireAt);
  });
}
