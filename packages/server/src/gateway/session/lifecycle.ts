/**
 * A connection's life in time: its token's expiry and refresh, the restricted (sign-in only) window,
 * the stale-connect limit and ping/pong. The node's single ticker drives it; nothing here owns a timer.
 */
import { checkClaims, TokenRejectedError, type GatewayClaims } from '../auth/claims.js';
import { ErrorCode } from '../protocol/codes.js';
import { RpcError } from '../rpc/errors.js';
import type { GatewaySettings } from '../settings.js';
import type { SessionNode } from './contracts.js';

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * Whole seconds until `expireAt`, rounded down from the exact remaining time, so a client that refreshes
 * after `ttl` seconds is never late (a rounded-up ttl would eat up to a second of the grace period).
 */
export const ttlUntil = (expireAt: number): number => Math.max(0, Math.floor(expireAt - Date.now() / 1000));

/** When a token's grant ends (s since the epoch; 0 = never): `expire_at` over `exp`; never in insecure mode. */
export function expiryOf(claims: GatewayClaims, insecure: boolean): number {
  if (insecure) return 0;
  if (claims.expire_at !== undefined) return claims.expire_at;
  return claims.exp ?? 0;
}

/**
 * Verifies a connection or subscription token. Failures map to what the command answers: expired →
 * `onExpired()`, verifier unavailable → error 100 (temporary), anything else → `onInvalid()`.
 */
export async function verifyToken(
  node: SessionNode,
  client: string,
  token: string,
  kind: 'connection' | 'subscription',
  onExpired: () => Error,
  onInvalid: () => Error,
): Promise<GatewayClaims> {
  try {
    const verifier = kind === 'connection' ? node.verifier : node.subscriptionVerifier;
    return checkClaims(await verifier.verify(token), kind);
  } catch (error) {
    if (!(error instanceof TokenRejectedError)) throw error;
    node.logger.info({ client, failure: error.failure, detail: error.detail }, `${kind} token refused`);
    if (error.failure === 'expired') throw onExpired();
    if (error.failure === 'unavailable') throw new RpcError(ErrorCode.Internal, undefined, true);
    throw onInvalid();
  }
}

/** What the connection's clock asks for at a tick. */
export type ConnectionDue = 'ok' | 'refresh' | 'restricted_timeout' | 'no_pong' | 'expired';

/** The connection's deadlines, in milliseconds since the epoch unless said otherwise. */
export class Lifecycle {
  readonly #settings: GatewaySettings;
  /** Connection expiry (s since epoch); 0 = none. */
  #expireAt = 0;
  /** When a connection accepted without a token is closed; 0 = not restricted. */
  #restrictedUntil = 0;
  /** When a connection that has not connected yet (or whose connect failed) is closed; 0 = never. */
  #staleAt: number;
  #nextPingAt = 0;
  /** A ping was sent and its pong has not arrived. */
  #pongPending = false;
  /** When the pending pong is overdue (0 = not checked). */
  #pongDeadline = 0;
  /** The connection (`''`) and channels whose refresh proxy call is in flight (created when first needed). */
  #refreshing: Set<string> | null = null;
  /** The earliest of the deadlines above: before it, a tick has nothing to do for the connection. */
  #wakeAt: number;

  constructor(settings: GatewaySettings, now: number) {
    this.#settings = settings;
    this.#staleAt = now + settings.staleCloseDelay * 1000;
    this.#wakeAt = this.#staleAt;
  }

  /** Before this time (ms since the epoch) no deadline of the connection itself has come. */
  get wakeAt(): number {
    return this.#wakeAt;
  }

  #recompute(): void {
    let wake = Infinity;
    const consider = (at: number) => {
      if (at !== 0 && at < wake) wake = at;
    };
    consider(this.#staleAt);
    consider(this.#restrictedUntil);
    consider(this.#pongDeadline);
    if (!this.#pongPending) consider(this.#nextPingAt);
    if (this.#expireAt > 0) consider(this.#settings.proxies.refresh ? this.#expireAt * 1000 : (this.#expireAt + this.#settings.expiredCloseDelay) * 1000);
    this.#wakeAt = wake;
  }

  /** Connection expiry (s since the epoch); 0 = none. */
  get expireAt(): number {
    return this.#expireAt;
  }

  /** Accepted without a token (sign-in RPCs only). */
  get restricted(): boolean {
    return this.#restrictedUntil !== 0;
  }

  /** Sets the connection's expiry (connect, refresh). */
  expireAtSeconds(expireAt: number): void {
    this.#expireAt = expireAt;
    this.#recompute();
  }

  /** Starts the restricted window. */
  restrict(now: number): void {
    this.#restrictedUntil = now + this.#settings.authRpcLifetime * 1000;
    this.#recompute();
  }

  /** `connect` succeeded: no stale limit any more; the first ping comes at a jittered point of the interval. */
  connected(now: number): void {
    this.#staleAt = 0;
    const interval = this.#settings.pingInterval;
    if (interval > 0) this.#nextPingAt = now + interval * 1000 * (0.5 + Math.random() / 2);
    this.#recompute();
  }

  /** `connect` failed: the socket is closed when the stale limit passes. */
  failed(now: number): void {
    this.#staleAt = now + this.#settings.staleCloseDelay * 1000;
    this.#recompute();
  }

  /** Whether a connection that is not connected has outlived the stale limit. */
  stale(now: number): boolean {
    return this.#staleAt !== 0 && now >= this.#staleAt;
  }

  /** An empty command arrived: true when it answers a pending ping. */
  pong(): boolean {
    if (!this.#pongPending) return false;
    this.#pongPending = false;
    this.#pongDeadline = 0;
    this.#recompute();
    return true;
  }

  /** Whether the next server ping is due. */
  pingDue(now: number): boolean {
    return this.#nextPingAt !== 0 && now >= this.#nextPingAt && !this.#pongPending;
  }

  /** A ping went out: the next one and the pong deadline are set. */
  pinged(now: number): void {
    const settings = this.#settings;
    this.#nextPingAt = now + settings.pingInterval * 1000;
    this.#pongPending = true;
    if (settings.pongTimeout > 0) this.#pongDeadline = now + settings.pongTimeout * 1000;
    this.#recompute();
  }

  /** The connected connection's deadlines at `now`. */
  due(now: number): ConnectionDue {
    const settings = this.#settings;
    if (this.#restrictedUntil !== 0 && now >= this.#restrictedUntil) return 'restricted_timeout';
    if (this.#pongDeadline !== 0 && now >= this.#pongDeadline) return 'no_pong';
    if (this.#expireAt > 0) {
      if (settings.proxies.refresh && now >= this.#expireAt * 1000) return 'refresh';
      if (!settings.proxies.refresh && now >= (this.#expireAt + settings.expiredCloseDelay) * 1000) return 'expired';
    }
    return 'ok';
  }

  /** Marks a server-side refresh of the connection (`''`) or a channel as in flight; false if it already is. */
  beginRefresh(key: string): boolean {
    const refreshing = (this.#refreshing ??= new Set());
    if (refreshing.has(key)) return false;
    refreshing.add(key);
    return true;
  }

  endRefresh(key: string): void {
    this.#refreshing?.delete(key);
  }
}
