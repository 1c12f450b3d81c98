import { ErrorCode } from '../protocol/codes.js';
import type { JsonValue } from '../protocol/types.js';
import { RpcError } from '../rpc/errors.js';
import { dataOf, expireAtOf, infoOf, postToProxy, ProxyUnavailableError, resultOf, type ProxyCaller, type ProxyEndpoint } from './http.js';

/** Seconds a connection or subscription keeps living when its refresh proxy cannot be reached (as Centrifugo). */
export const REFRESH_RETRY_SECONDS = 60;

/** Connect, subscribe and publish proxies that fail answer the client with error 100, temporary: it retries. */
async function orTemporary<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ProxyUnavailableError) throw new RpcError(ErrorCode.Internal, undefined, true);
    throw error;
  }
}

/** What the connect proxy decided. */
export interface ProxiedConnect {
  readonly user: string;
  /** Seconds since the epoch; 0 = no expiry. */
  readonly expireAt: number;
  readonly info: JsonValue | undefined;
  readonly data: JsonValue | undefined;
  readonly meta: JsonValue | undefined;
  readonly channels: readonly string[];
}

interface ConnectResult {
  user?: string;
  expire_at?: number;
  info?: JsonValue;
  b64info?: string;
  data?: JsonValue;
  b64data?: string;
  channels?: unknown;
  meta?: JsonValue;
}

/** Asks the connect proxy about a connect without a token. */
export function proxyConnect(
  proxy: ProxyEndpoint,
  caller: Omit<ProxyCaller, 'user' | 'meta'>,
  request: { name?: unknown; version?: unknown; data?: JsonValue | undefined },
): Promise<ProxiedConnect> {
  return orTemporary(async () => {
    const fields: Record<string, unknown> = {};
    if (typeof request.name === 'string') fields.name = request.name;
    if (typeof request.version === 'string') fields.version = request.version;
    if (request.data !== undefined) fields.data = request.data;
    const result = resultOf(await postToProxy<ConnectResult>(proxy, { ...caller, user: '', meta: undefined }, fields));
    return {
      user: typeof result.user === 'string' ? result.user : '',
      expireAt: expireAtOf(result.expire_at),
      info: infoOf(result),
      data: dataOf(result),
      meta: result.meta,
      channels: Array.isArray(result.channels) ? result.channels.filter((channel): channel is string => typeof channel === 'string' && channel !== '') : [],
    };
  });
}

/** What a refresh or sub_refresh proxy decided: expired, or the new expiry (and info). */
export interface ProxiedRefresh {
  readonly expired: boolean;
  readonly expireAt: number;
  readonly info: JsonValue | undefined;
}

/**
 * Asks the refresh (no `channel`) or sub_refresh proxy whether the connection or subscription lives on.
 * An unreachable proxy gives it {@link REFRESH_RETRY_SECONDS} more; an answer without a result ends it.
 */
export async function proxyRefresh(proxy: ProxyEndpoint, caller: ProxyCaller, channel?: string): Promise<ProxiedRefresh> {
  try {
    const answer = await postToProxy<{ expired?: boolean; expire_at?: number; info?: JsonValue; b64info?: string }>(proxy, caller, channel === undefined ? {} : { channel });
    const result = answer.result;
    if (typeof result !== 'object' || result === null || result.expired === true) return { expired: true, expireAt: 0, info: undefined };
    return { expired: false, expireAt: expireAtOf(result.expire_at), info: infoOf(result) };
  } catch {
    return { expired: false, expireAt: Math.floor(Date.now() / 1000) + REFRESH_RETRY_SECONDS, info: undefined };
  }
}

/** What the subscribe proxy decided. */
export interface ProxiedSubscribe {
  readonly info: JsonValue | undefined;
  readonly data: JsonValue | undefined;
  readonly expireAt: number;
}

/** Asks the subscribe proxy whether the connection may subscribe. */
export function proxySubscribe(proxy: ProxyEndpoint, caller: ProxyCaller, channel: string, request: { token?: string; data?: JsonValue | undefined }): Promise<ProxiedSubscribe> {
  return orTemporary(async () => {
    const fields: Record<string, unknown> = { channel };
    if (request.token) fields.token = request.token;
    if (request.data !== undefined) fields.data = request.data;
    const result = resultOf(await postToProxy<{ info?: JsonValue; b64info?: string; data?: JsonValue; b64data?: string; expire_at?: number }>(proxy, caller, fields));
    return { info: infoOf(result), data: dataOf(result), expireAt: expireAtOf(result.expire_at) };
  });
}

/** What the publish proxy decided: the data to publish (the client's, or the backend's replacement). */
export interface ProxiedPublish {
  readonly data: JsonValue;
  readonly skipHistory: boolean;
}

/** Asks the publish proxy whether the connection may publish `data`. */
export function proxyPublish(proxy: ProxyEndpoint, caller: ProxyCaller, channel: string, data: JsonValue): Promise<ProxiedPublish> {
  return orTemporary(async () => {
    const result = resultOf(await postToProxy<{ data?: JsonValue; b64data?: string; skip_history?: boolean }>(proxy, caller, { channel, data }));
    const replaced = dataOf(result);
    return { data: replaced === undefined ? data : replaced, skipHistory: result.skip_history === true };
  });
}
