/** What a command handler works on: one connection's parts, as its {@link Session} lends them. */
import { DISCONNECT_REASONS, type DisconnectCode, type UnsubscribeCode } from '../protocol/codes.js';
import { DisconnectError } from '../rpc/errors.js';
import type { NodeConnection, SessionNode } from './contracts.js';
import type { Identity } from './identity.js';
import type { Lifecycle } from './lifecycle.js';
import type { Subscriptions } from './subscriptions.js';

/** `new` → `connected`, or `failed` after a refused connect; `closed` at the end. */
export type SessionState = 'new' | 'connected' | 'failed' | 'closed';

/** A command's reply body, and what to do once the reply is queued (a subscription goes live after its reply). */
export interface Outcome {
  readonly body: object;
  readonly after?: () => void;
}

export interface CommandScope {
  readonly node: SessionNode;
  /** The connection as the node knows it. */
  readonly connection: NodeConnection;
  readonly identity: Identity;
  readonly lifecycle: Lifecycle;
  readonly subscriptions: Subscriptions;
  /** The state now (it may change across an `await`). */
  state(): SessionState;
  /** `connect` succeeded: the connection becomes findable on the node. */
  connected(): void;
  /** Closes the connection with `code`. */
  disconnect(code: number): void;
  /** Ends one subscription with an unsubscribe push. */
  endSubscription(channel: string, code: UnsubscribeCode): void;
  /** Sends an unsubscribe push (the subscription is already gone or never went live). */
  pushUnsubscribe(channel: string, code: UnsubscribeCode): void;
}

/** A request body's string field, or `''`. */
export function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The disconnect a command throws, with the code's documented reason. */
export function disconnectError(code: DisconnectCode): DisconnectError {
  return new DisconnectError(code, DISCONNECT_REASONS[code]);
}
