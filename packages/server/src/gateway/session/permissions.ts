/**
 * Who may do what on a channel: pure functions of the connection's identity, the channel's namespace
 * and the gateway's `insecure` switch. Membership in the database is asked elsewhere; these decide
 * what the token and the namespace allow.
 */
import type { GatewayClaims } from '../auth/claims.js';
import { organizationOf, type ResolvedChannel } from '../channels/resolve.js';

/** The connection as the rules see it. */
export interface Requester {
  /** The token's subject (`''`: anonymous). */
  readonly user: string;
  readonly claims: GatewayClaims | null;
  /** The connection is subscribed to the channel, or its subscribe is in flight. */
  readonly subscriber: boolean;
  /** The gateway's `insecure` mode: every check passes. */
  readonly insecure: boolean;
}

/** `org:<id>` channels need the token's organization to be `<id>`. */
export function organizationAllowed(resolved: ResolvedChannel, claims: GatewayClaims | null, insecure: boolean): boolean {
  if (!resolved.namespace.organization_bound || insecure) return true;
  return organizationOf(claims) === resolved.rest;
}

/** Presence or history access: any client, or subscribers, per the namespace; and the organization rule. */
export function mayRead(resolved: ResolvedChannel, what: 'presence' | 'history', requester: Requester): boolean {
  const ns = resolved.namespace;
  const anonymousOk = requester.user !== '' || ns[`allow_${what}_for_anonymous`];
  const allowed =
    (ns[`allow_${what}_for_client`] && anonymousOk) || (ns[`allow_${what}_for_subscriber`] && requester.subscriber && anonymousOk) || requester.insecure;
  return allowed && organizationAllowed(resolved, requester.claims, requester.insecure);
}

/**
 * Subscribing without a subscription token or proxy: user-limited channels (`dialog#42,43`) admit the
 * users they name; others need `allow_subscribe_for_client` (and `allow_subscribe_for_anonymous` for
 * anonymous connections); `service_role_only` namespaces need a service-role token.
 */
export function maySubscribe(resolved: ResolvedChannel, requester: Requester): boolean {
  const ns = resolved.namespace;
  const user = requester.user;
  const userLimited = resolved.users !== null;
  const allowed =
    (userLimited && user !== '' && resolved.users.includes(user)) ||
    (!userLimited && ns.allow_subscribe_for_client && (user !== '' || ns.allow_subscribe_for_anonymous)) ||
    requester.insecure;
  return allowed && !(ns.service_role_only && requester.claims?.role !== 'service_role');
}

/** Client publications: with a publish proxy (the backend decides), or per the namespace's flags. */
export function mayPublish(resolved: ResolvedChannel, requester: Requester, proxied: boolean): boolean {
  const ns = resolved.namespace;
  const anonymousOk = requester.user !== '' || ns.allow_publish_for_anonymous;
  return proxied || (ns.allow_publish_for_client && anonymousOk) || (ns.allow_publish_for_subscriber && requester.subscriber && anonymousOk) || requester.insecure;
}

/** A subscription token is for this channel, this user and (when it names one) this connection. */
export function subscriptionTokenFits(claims: GatewayClaims, channel: string, user: string, client: string): boolean {
  return claims.channel === channel && (claims.sub ?? '') === user && (claims.client === undefined || claims.client === client);
}

/** Whether the organization channel's membership must be confirmed in the database. */
export function membershipChecked(resolved: ResolvedChannel, insecure: boolean, membership: 'database' | 'claim'): boolean {
  return resolved.namespace.organization_bound && !insecure && membership === 'database';
}
