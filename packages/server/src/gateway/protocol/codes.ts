/**
 * Every code the gateway puts on the wire, in one place. The gateway speaks the Centrifugo client
 * protocol v2, so these are Centrifugo's numbers; each line says who sends it and what the official
 * `centrifuge` client does when it arrives.
 */

/** Error codes carried in `{"id":N,"error":{code,message,temporary}}` replies to one command. */
export enum ErrorCode {
  /** Server: something failed on our side (also: identity provider / JWKS unreachable). Sent with `temporary: true`, so the client retries with backoff using the same token. */
  Internal = 100,
  /** Server: the connection is not allowed for the request. Client: connect → disconnected; other commands → the call rejects. */
  Unauthorized = 101,
  /** Server: channel name or namespace unknown. Client: subscription ends unsubscribed with this code. */
  UnknownChannel = 102,
  /** Server: not allowed (other organization, no subscribe/publish/presence permission, bad subscription token). Client: subscription ends unsubscribed; publish/presence calls reject. */
  PermissionDenied = 103,
  /** Server: RPC method has no handler. Client: the `rpc()` promise rejects. */
  MethodNotFound = 104,
  /** Server: second subscribe to a channel on one connection. Client: subscription ends unsubscribed. */
  AlreadySubscribed = 105,
  /** Server: a limit was reached (a subscribe beyond the per-connection channel limit). Client: the call rejects; a subscription ends unsubscribed with this code. */
  LimitExceeded = 106,
  /** Server: malformed request fields. Client: the call rejects. */
  BadRequest = 107,
  /** Server: feature off (no RPC handler at all, presence disabled). Client: the call rejects. */
  NotAvailable = 108,
  /**
   * Server: connection or subscription token expired, or a connection token issued before a
   * `role_changed`, `membership_removed` or `organization_deleted` event that matches it. Client: calls
   * `getToken()` and reconnects / resubscribes.
   */
  TokenExpired = 109,
  /** Server: connection `expire_at` already in the past. Client: disconnected, no retry. */
  Expired = 110,
  /** Server: rate limited. Sent with `temporary: true`; client retries with backoff. */
  TooManyRequests = 111,
  /** Server: stream position cannot be recovered. Client: resets position or unsubscribes. */
  UnrecoverablePosition = 112,
}

/** Messages that go with {@link ErrorCode}s on the wire. */
export const ERROR_MESSAGES: Readonly<Record<ErrorCode, string>> = {
  [ErrorCode.Internal]: 'internal server error',
  [ErrorCode.Unauthorized]: 'unauthorized',
  [ErrorCode.UnknownChannel]: 'unknown channel',
  [ErrorCode.PermissionDenied]: 'permission denied',
  [ErrorCode.MethodNotFound]: 'method not found',
  [ErrorCode.AlreadySubscribed]: 'already subscribed',
  [ErrorCode.LimitExceeded]: 'limit exceeded',
  [ErrorCode.BadRequest]: 'bad request',
  [ErrorCode.NotAvailable]: 'not available',
  [ErrorCode.TokenExpired]: 'token expired',
  [ErrorCode.Expired]: 'expired',
  [ErrorCode.TooManyRequests]: 'too many requests',
  [ErrorCode.UnrecoverablePosition]: 'unrecoverable position',
};

/** Error codes the client should retry on its own (`temporary: true` on the wire). */
export const TEMPORARY_ERRORS: ReadonlySet<number> = new Set([ErrorCode.Internal, ErrorCode.TooManyRequests]);

/**
 * WebSocket close codes. The client reconnects for 3000–3499 (and 4000–4499); it stays disconnected for
 * 3500–3999 (and 4500–4999). Over WebSocket the close frame is the only disconnect signal.
 */
export enum DisconnectCode {
  /** Server: node shutting down. Client: reconnects with backoff (to another node). */
  Shutdown = 3001,
  /** Server: unexpected failure. Client: reconnects. */
  InternalError = 3004,
  /** Server: connection outlived its token's `exp` plus the grace delay without `refresh`. Client: reconnects, gets 109, calls `getToken()`. */
  ConnectionExpired = 3005,
  /** Server: a subscription outlived its token without `sub_refresh`. Client: reconnects and resubscribes. */
  SubscriptionExpired = 3006,
  /** Server: client reads too slowly (send buffer over the limit). Client: reconnects. */
  Slow = 3008,
  /** Server: write to the socket failed. Client: reconnects. */
  WriteError = 3009,
  /**
   * Server: a positioned subscription missed publications (a gap in the channel's offsets, or the stream
   * was lost). Client: reconnects and recovers from its last offset (or reports `recovered: false`).
   */
  InsufficientState = 3010,
  /** Server: asked to reconnect (API disconnect with reconnect advice). Client: reconnects. */
  ForceReconnect = 3011,
  /** Server: no pong to a server ping in time. Client: reconnects. */
  NoPong = 3012,
  /**
   * Server: the token's grants changed (a `role_changed` revocation event matched the connection). Client
   * (centrifuge-js 5.8): clears its token, calls `getToken()` (our SDK refreshes), reconnects and
   * resubscribes, so every channel is checked again against the new claims. A client without `getToken`
   * reconnects with the old token and gets 109.
   */
  StateInvalidated = 3014,
  /** Server: connection or refresh token invalid (signature, key id, audience, format, user mismatch). Client: disconnected, keeps the token; apps call `setToken('')` and `connect()`. */
  InvalidToken = 3500,
  /** Server: protocol violation (command before connect, second connect, malformed frame, unknown command). Client: disconnected. */
  BadRequest = 3501,
  /** Server: socket sent no connect command in time. Client: disconnected. */
  Stale = 3502,
  /** Server: disconnected through the server API. Client: disconnected. */
  ForceDisconnect = 3503,
  /** Server: connection limit reached. Client: disconnected. */
  ConnectionLimit = 3504,
  /** Server: a token's server-side `channels` exceed the per-connection channel limit. Client: disconnected. */
  ChannelLimit = 3505,
  /** Server: anonymous or otherwise refused connection token. Client: disconnected. */
  PermissionDenied = 3507,
  /**
   * Server: the connection's session ended (logout, ban, deletion, password change, refresh-token reuse,
   * session expiry, OAuth client deletion: a revocation event matched the connection's token), or a
   * connect came with a token of an ended session. Client: disconnected, does not reconnect (4500–4999
   * are terminal); our SDK emits `reauthRequired`: the user signs in again.
   */
  SessionEnded = 4501,
  /**
   * Server: a connection accepted without a token (allowed only to call `auth.*` RPC methods) reached the
   * end of its lifetime (60 s by default). Client: disconnected, does not reconnect; it connects again
   * with the token it obtained.
   */
  AuthenticationTimeout = 4502,
}

/** Close reasons that go with {@link DisconnectCode}s (kept under the 123-byte close-frame limit). */
export const DISCONNECT_REASONS: Readonly<Record<DisconnectCode, string>> = {
  [DisconnectCode.Shutdown]: 'shutdown',
  [DisconnectCode.InternalError]: 'internal server error',
  [DisconnectCode.ConnectionExpired]: 'connection expired',
  [DisconnectCode.SubscriptionExpired]: 'subscription expired',
  [DisconnectCode.Slow]: 'slow',
  [DisconnectCode.WriteError]: 'write error',
  [DisconnectCode.InsufficientState]: 'insufficient state',
  [DisconnectCode.ForceReconnect]: 'force reconnect',
  [DisconnectCode.NoPong]: 'no pong',
  [DisconnectCode.StateInvalidated]: 'state invalidated',
  [DisconnectCode.InvalidToken]: 'invalid token',
  [DisconnectCode.BadRequest]: 'bad request',
  [DisconnectCode.Stale]: 'stale',
  [DisconnectCode.ForceDisconnect]: 'force disconnect',
  [DisconnectCode.ConnectionLimit]: 'connection limit',
  [DisconnectCode.ChannelLimit]: 'channel limit',
  [DisconnectCode.PermissionDenied]: 'permission denied',
  [DisconnectCode.SessionEnded]: 'session ended',
  [DisconnectCode.AuthenticationTimeout]: 'authentication timeout',
};

/** Codes carried by an `unsubscribe` push. Below 2500 the client stays unsubscribed; from 2500 it resubscribes. */
export enum UnsubscribeCode {
  /** Server: unsubscribed through the server API. Client: subscription ends. */
  Server = 2000,
  /**
   * Server: the membership behind an organization channel (`org:<id>`) ended: a `membership_removed` or
   * `organization_deleted` event matched the connection, or an in-band refresh brought claims that no
   * longer grant the organization, or the database no longer lists the user as a member. Client:
   * subscription ends unsubscribed with this code and stays so (below 2500: no resubscribe).
   */
  MembershipEnded = 2001,
  /**
   * Server: a positioned subscription missed publications (its channel's offsets jumped, or the stream
   * was lost and started a new epoch, as after a Redis restart). Client: resubscribes at once and
   * recovers from its last offset, or reports `recovered: false` (2500 and above); the socket stays open.
   */
  InsufficientState = 2500,
  /** Server: the sub_refresh proxy ended a subscription. Client: resubscribes (2500 and above). */
  Expired = 2501,
}

/** Reasons that go with {@link UnsubscribeCode}s. */
export const UNSUBSCRIBE_REASONS: Readonly<Record<UnsubscribeCode, string>> = {
  [UnsubscribeCode.Server]: 'server unsubscribe',
  [UnsubscribeCode.MembershipEnded]: 'membership ended',
  [UnsubscribeCode.InsufficientState]: 'insufficient state',
  [UnsubscribeCode.Expired]: 'subscription expired',
};

/** Subscribe request flag bits sent by the client (unknown bits are ignored). */
export enum SubscribeFlag {
  /** Client asks for channel compaction (always set by centrifuge-js 5). */
  ChannelCompaction = 1,
  /** Client wants error 112 instead of a silent non-recovered subscribe. */
  RejectUnrecovered = 2,
}
