/**
 * `createRealtimeClient`: the official `centrifuge` client, authenticated by a {@link TokenManager}.
 *
 * @module
 */
import {
  Centrifuge,
  UnauthorizedError,
  type Options as CentrifugeOptions,
  type PublicationContext,
  type Subscription,
  type SubscriptionOptions,
} from 'centrifuge';
import { LatchkeyClientError, NotLoggedInError, ReauthRequiredError, TokenEndpointError, TokenEndpointUnavailableError } from './errors.js';
import { Emitter } from './events.js';
import { TokenManager } from './manager.js';
import type { AuthProvider } from './providers.js';
import { socketTokenFetch } from './socket-token.js';
import type { TokenStore } from './stores/store.js';

/** Disconnect and error codes of the gateway (Centrifugo protocol) that the realtime client acts on. */
export const RealtimeCodes = {
  /** Error reply to connect: the token has expired. centrifuge calls `getToken` (our refresh) and reconnects. */
  TokenExpired: 109,
  /** Close code: the token is invalid (signature, key, audience). We force one refresh and reconnect. */
  InvalidToken: 3500,
  /**
   * Close code: the session ended (logout, ban, deletion, password change, session revoked…). centrifuge
   * stays disconnected; we emit `reauthRequired` and stop. Tokens are left to the token manager.
   */
  SessionEnded: 4501,
  /** Close code: the token's grants changed (role). centrifuge clears its token, calls `getToken` (a refresh) and reconnects. */
  StateInvalidated: 3014,
  /** centrifuge's own disconnect code after `getToken` threw `UnauthorizedError`. */
  Unauthorized: 1,
} as const;

export interface RealtimeClientOptions {
  /**
   * WebSocket constructor. Browsers and Node 22 have a global one; on Node 20 pass `WebSocket` from
   * `ws` (or use `createNodeRealtimeClient` from `@latchkey/client/node`).
   */
  readonly websocket?: unknown;
  /** Reconnects after an invalid-token close (3500), each after a forced refresh. Default 2. */
  readonly maxInvalidTokenReconnects?: number;
  /** Further `centrifuge` options (reconnect delays, timeouts, name…); `token`/`getToken` are ours. */
  readonly centrifuge?: Partial<Omit<CentrifugeOptions, 'token' | 'getToken' | 'websocket'>>;
}

/** Why the realtime client stopped and needs a new sign-in. */
export class RealtimeAuthError extends LatchkeyClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_REAUTH_REQUIRED', message, options);
  }
}

export type RealtimeClientEvents = {
  /** The session cannot authenticate the connection any more; sign in again, then call `connect()`. */
  reauthRequired: [error: Error];
  connected: [];
  disconnected: [code: number, reason: string];
};

/**
 * Options of {@link createRealtimeClient} when it signs in over the socket itself: `provider` gives the
 * first grant, sent as an `auth.*` RPC on a connection without a token.
 */
export interface SocketSignInOptions extends RealtimeClientOptions {
  /** Password (with TOTP) or refresh-token provider of the session's first grant. */
  readonly provider: AuthProvider;
  /** Where the session's tokens are kept. Default a new memory store. */
  readonly store?: TokenStore;
}

/** A realtime connection; `centrifuge` is the underlying client for anything not wrapped here. */
export interface RealtimeClient {
  readonly centrifuge: Centrifuge;
  /** The token manager behind the connection's tokens. */
  readonly manager: TokenManager;
  on<E extends keyof RealtimeClientEvents>(event: E, listener: (...args: RealtimeClientEvents[E]) => void): () => void;
  connect(): void;
  disconnect(): void;
  /** Resolves once connected (rejects on a terminal disconnect or after `timeoutMs`). */
  ready(timeoutMs?: number): Promise<void>;
  /** Calls an RPC method of the gateway; resolves with the result's `data`. */
  rpc<Result = unknown, Params = unknown>(method: string, params?: Params): Promise<Result>;
  /** Publishes into a channel (when the channel allows client publications). */
  publish<Data = unknown>(channel: string, data: Data): Promise<void>;
  /**
   * Subscribes to `channel` (once; a second call returns the same subscription) and calls
   * `onPublication` with each publication's data. Subscriptions are restored after reconnects.
   */
  subscribe<Data = unknown>(
    channel: string,
    onPublication?: (data: Data, context: PublicationContext) => void,
    options?: Partial<SubscriptionOptions>,
  ): Subscription;
}

class Realtime extends Emitter<RealtimeClientEvents> {
  override emit<E extends keyof RealtimeClientEvents>(event: E, ...args: RealtimeClientEvents[E]): void {
    super.emit(event, ...args);
  }
}

/**
 * Connects to the gateway with tokens from `manager`. `getToken` is bound to the manager, so a refresh
 * happens in-band whenever the gateway asks (connection TTL, error 109); permanent session failures
 * become centrifuge's `UnauthorizedError` (stop) and the `reauthRequired` event, transient ones make
 * centrifuge retry with backoff. After an invalid-token close (3500) the client forces one refresh and
 * reconnects, at most `maxInvalidTokenReconnects` times in a row, then reports `reauthRequired`. A
 * session-ended close (4501: logout, ban, deletion elsewhere) reports `reauthRequired` at once and stays
 * disconnected until `connect()` is called again. A state-invalidated close (3014: the role changed) is
 * handled by centrifuge itself: it calls `getToken`, which refreshes, and reconnects.
 *
 * @example
 * ```ts
 * const realtime = createRealtimeClient('ws://127.0.0.1:8000/connection/websocket', manager, { websocket: WebSocket });
 * realtime.subscribe<{ text: string }>('chat:lobby', (data) => console.log(data.text));
 * realtime.connect();
 * ```
 */
export function createRealtimeClient(url: string, manager: TokenManager, options?: RealtimeClientOptions): RealtimeClient;
/**
 * Connects to the gateway signing in over the socket: when the store holds no session, the first token
 * comes from `provider` through an `auth.login` (or `auth.refresh`) RPC on a connection without a token;
 * later refreshes go the same way. Then it behaves as the form taking a {@link TokenManager}.
 *
 * @example
 * ```ts
 * const realtime = createRealtimeClient('wss://auth.example.com/connection/websocket', {
 *   provider: new PasswordAuth(email, password),
 *   websocket: WebSocket,
 * });
 * realtime.connect();
 * ```
 */
export function createRealtimeClient(url: string, options: SocketSignInOptions): RealtimeClient;
export function createRealtimeClient(url: string, source: TokenManager | SocketSignInOptions, extra: RealtimeClientOptions = {}): RealtimeClient {
  if (source instanceof TokenManager) return connectWith(url, source, extra);
  const websocket = source.websocket ?? (globalThis as { WebSocket?: unknown }).WebSocket;
  const manager = new TokenManager(source.provider, {
    tokenUrl: url,
    protocol: 'oauth',
    fetch: socketTokenFetch(url, { websocket }),
    ...(source.store ? { store: source.store } : {}),
  });
  return connectWith(url, manager, source);
}

function connectWith(url: string, manager: TokenManager, options: RealtimeClientOptions): RealtimeClient {
  const maxReconnects = options.maxInvalidTokenReconnects ?? 2;
  if (!Number.isInteger(maxReconnects) || maxReconnects < 0) throw new TypeError('maxInvalidTokenReconnects must be an integer >= 0');
  const websocket = options.websocket ?? (globalThis as { WebSocket?: unknown }).WebSocket;
  if (!websocket) throw new TypeError('no WebSocket implementation: pass options.websocket (WebSocket from "ws" on Node 20)');

  const events = new Realtime();
  let lastToken: string | undefined;
  let invalidTokenReconnects = 0;
  let stopped = false;

  const reportReauth = (error: Error) => {
    events.emit('reauthRequired', error);
  };

  const centrifuge = new Centrifuge(url, {
    ...options.centrifuge,
    websocket,
    // centrifuge asks only when it needs a new token: first connect, the connection's TTL reached, or
    // error 109 (expired). After the first, the token it holds is stale whatever our clock says, so
    // refresh unless the manager already moved past it.
    getToken: async () => {
      try {
        const tokens = lastToken === undefined ? await manager.getTokens() : await manager.forceRefresh(lastToken);
        lastToken = tokens.accessToken;
        return tokens.accessToken;
      } catch (error) {
        // A refused grant (wrong password, spent refresh token) is as final as an ended session.
        if (error instanceof ReauthRequiredError || error instanceof NotLoggedInError || error instanceof TokenEndpointError) {
          reportReauth(error);
          throw new UnauthorizedError(error.message);
        }
        throw error; // transient: centrifuge retries with backoff
      }
    },
  });

  centrifuge.on('connected', () => {
    invalidTokenReconnects = 0;
    events.emit('connected');
  });
  centrifuge.on('disconnected', (context) => {
    events.emit('disconnected', context.code, context.reason);
    if (stopped) return;
    if (context.code === RealtimeCodes.SessionEnded) {
      // Terminal: signing in again is the only way back. centrifuge's copy of the ended session's token
      // is dropped, so the next connect() asks getToken; the token manager's tokens are left alone.
      stopped = true;
      centrifuge.setToken('');
      reportReauth(new RealtimeAuthError(`the gateway ended the session (${context.reason || 'session ended'})`));
      return;
    }
    if (context.code !== RealtimeCodes.InvalidToken) return;
    if (invalidTokenReconnects >= maxReconnects) {
      reportReauth(new RealtimeAuthError(`the gateway rejected the token ${invalidTokenReconnects + 1} times in a row (${context.reason})`));
      return;
    }
    invalidTokenReconnects += 1;
    const reconnect = () => {
      if (stopped) return;
      centrifuge.setToken(''); // makes centrifuge ask getToken, which returns the refreshed token
      centrifuge.connect();
    };
    manager.forceRefresh(lastToken).then(reconnect, (error: unknown) => {
      if (error instanceof ReauthRequiredError || error instanceof NotLoggedInError) reportReauth(error);
      // The identity service is unreachable for now: reconnect anyway; getToken fails transiently and
      // centrifuge keeps retrying with backoff until a refresh succeeds.
      else if (error instanceof TokenEndpointUnavailableError) reconnect();
      else reportReauth(new RealtimeAuthError('could not refresh the token after the gateway rejected it', { cause: error }));
    });
  });

  return {
    centrifuge,
    manager,
    on: (event, listener) => events.on(event, listener),
    connect() {
      stopped = false;
      centrifuge.connect();
    },
    disconnect() {
      stopped = true;
      centrifuge.disconnect();
    },
    ready: (timeoutMs) => centrifuge.ready(timeoutMs),
    async rpc<Result, Params>(method: string, params?: Params): Promise<Result> {
      const result = await centrifuge.rpc(method, params ?? {});
      return result.data as Result;
    },
    async publish(channel, data) {
      await centrifuge.publish(channel, data);
    },
    subscribe<Data>(channel: string, onPublication?: (data: Data, context: PublicationContext) => void, subscriptionOptions?: Partial<SubscriptionOptions>) {
      const subscription = centrifuge.getSubscription(channel) ?? centrifuge.newSubscription(channel, subscriptionOptions);
      if (onPublication) subscription.on('publication', (context) => onPublication(context.data as Data, context));
      subscription.subscribe();
      return subscription;
    },
  };
}
