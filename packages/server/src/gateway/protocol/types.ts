/**
 * Shapes of the Centrifugo client protocol v2 in its JSON form. Field names are the protocol's
 * snake_case names; `data`, `info`, `conn_info` and `chan_info` are embedded JSON values (never base64).
 */

/** Any JSON value as carried in `data`/`info` fields. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface ConnectRequest {
  token?: string;
  data?: JsonValue;
  name?: string;
  version?: string;
  subs?: Record<string, SubscribeRequest>;
  headers?: Record<string, string>;
}
export interface SubscribeRequest {
  channel?: string;
  token?: string;
  recover?: boolean;
  epoch?: string;
  offset?: number;
  data?: JsonValue;
  positioned?: boolean;
  recoverable?: boolean;
  join_leave?: boolean;
  flag?: number;
  type?: number;
  delta?: string;
}
export interface ChannelRequest {
  channel?: string;
}
export interface HistoryRequest {
  channel?: string;
  limit?: number;
  since?: { offset?: number; epoch?: string };
  reverse?: boolean;
}
export interface PublishRequest {
  channel?: string;
  data?: JsonValue;
}
export interface RpcRequest {
  method?: string;
  data?: JsonValue;
}
export interface TokenRequest {
  token?: string;
}
export interface SubRefreshRequest {
  channel?: string;
  token?: string;
}
export interface SendRequest {
  data?: JsonValue;
}

/** A client command: an `id` (absent for `send` and for a pong) and one request. */
export interface Command {
  id?: number;
  connect?: ConnectRequest;
  subscribe?: SubscribeRequest;
  unsubscribe?: ChannelRequest;
  publish?: PublishRequest;
  presence?: ChannelRequest;
  presence_stats?: ChannelRequest;
  history?: HistoryRequest;
  ping?: Record<string, never>;
  send?: SendRequest;
  rpc?: RpcRequest;
  refresh?: TokenRequest;
  sub_refresh?: SubRefreshRequest;
}

/** The request keys a command may carry, in the protocol's field order. */
export const COMMAND_KEYS = [
  'connect',
  'subscribe',
  'unsubscribe',
  'publish',
  'presence',
  'presence_stats',
  'history',
  'ping',
  'send',
  'rpc',
  'refresh',
  'sub_refresh',
] as const;
export type CommandKind = (typeof COMMAND_KEYS)[number];

/** Who a connection is, as shown to other clients in presence, join/leave and publications. */
export interface ClientInfo {
  user: string;
  client: string;
  conn_info?: JsonValue;
  chan_info?: JsonValue;
}

export interface ErrorBody {
  code: number;
  message: string;
  temporary?: boolean;
}

export interface ConnectResult {
  client: string;
  version: string;
  expires?: boolean;
  ttl?: number;
  data?: JsonValue;
  subs?: Record<string, SubscribeResult>;
  ping?: number;
  pong?: boolean;
}
export interface SubscribeResult {
  expires?: boolean;
  ttl?: number;
  recoverable?: boolean;
  epoch?: string;
  publications?: Publication[];
  recovered?: boolean;
  offset?: number;
  positioned?: boolean;
  data?: JsonValue;
  was_recovering?: boolean;
  delta?: boolean;
}
export interface RefreshResult {
  client: string;
  version: string;
  expires: boolean;
  ttl?: number;
}
export interface SubRefreshResult {
  expires: boolean;
  ttl?: number;
}
export interface PresenceResult {
  presence: Record<string, ClientInfo>;
}
export interface PresenceStatsResult {
  num_clients: number;
  num_users: number;
}
export interface RpcResult {
  data?: JsonValue;
}

export interface Publication {
  data: JsonValue;
  info?: ClientInfo;
  offset?: number;
  /** With fossil delta negotiated: `data` is a delta against the previous publication's data. */
  delta?: boolean;
}

/** Server-initiated messages (`{"push":{channel, <kind>}}`). */
export interface Push {
  channel?: string;
  pub?: Publication;
  join?: { info: ClientInfo };
  leave?: { info: ClientInfo };
  unsubscribe?: { code: number; reason: string };
  message?: { data: JsonValue };
  /** A server-side subscription made after connect. */
  subscribe?: SubscribeResult;
  /** The connect result, for transports without a connect command (not sent over WebSocket). */
  connect?: ConnectResult;
  /** Over WebSocket the close frame carries disconnects; the push exists for other transports. */
  disconnect?: { code: number; reason: string; reconnect?: boolean };
  /** Server-side refresh of the connection's expiry. */
  refresh?: { expires: boolean; ttl?: number };
}
