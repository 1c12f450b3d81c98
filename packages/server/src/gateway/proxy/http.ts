import { ErrorCode } from '../protocol/codes.js';
import type { WireFormat } from '../protocol/codec.js';
import type { JsonValue } from '../protocol/types.js';
import { DisconnectError, RpcError } from '../rpc/errors.js';

/** One HTTP proxy endpoint (Centrifugo's `endpoint`, `timeout`, `http_headers`, `static_headers`). */
export interface ProxyEndpoint {
  readonly endpoint: string;
  /** Seconds. Default 1. */
  readonly timeout: number;
  /** Client connect headers forwarded to the proxy (lower-case names). */
  readonly httpHeaders: readonly string[];
  readonly staticHeaders: Readonly<Record<string, string>>;
}

/** The connection a proxy request is about. */
export interface ProxyCaller {
  readonly client: string;
  readonly user: string;
  readonly meta: JsonValue | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The connection's wire format, sent as the request's `protocol` (default `json`). Payloads are JSON either way (`encoding: "json"`). */
  readonly protocol?: WireFormat;
}

/** The proxy did not answer in time, answered with a status other than 200, or not with JSON. */
export class ProxyUnavailableError extends Error {
  override readonly name = 'ProxyUnavailableError';
  readonly code = 'ERR_GATEWAY_PROXY_UNAVAILABLE';
}

/** A proxy response body: `result`, or `error`, or `disconnect`. */
export interface ProxyAnswer<R> {
  result?: R;
  error?: { code?: number; message?: string; temporary?: boolean };
  disconnect?: { code?: number; reason?: string };
}

/**
 * POSTs `fields` with the fields every proxy request shares (`client`, `transport`, `protocol`,
 * `encoding`, and `user` and `meta` when the connection has them). Throws {@link ProxyUnavailableError}.
 */
export async function postToProxy<R>(proxy: ProxyEndpoint, caller: ProxyCaller, fields: Record<string, unknown>): Promise<ProxyAnswer<R>> {
  const headers: Record<string, string> = { ...proxy.staticHeaders, 'content-type': 'application/json' };
  for (const name of proxy.httpHeaders) {
    const value = caller.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const body = {
    client: caller.client,
    transport: 'websocket',
    protocol: caller.protocol ?? 'json',
    encoding: 'json',
    ...(caller.user !== '' ? { user: caller.user } : {}),
    ...(caller.meta !== undefined ? { meta: caller.meta } : {}),
    ...fields,
  };
  try {
    const response = await fetch(proxy.endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(proxy.timeout * 1000) });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new ProxyUnavailableError(`proxy answered ${response.status}`);
    }
    const parsed = (await response.json()) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ProxyUnavailableError('proxy answer is not an object');
    return parsed;
  } catch (error) {
    if (error instanceof ProxyUnavailableError) throw error;
    throw new ProxyUnavailableError(error instanceof Error ? error.message : 'proxy failed');
  }
}

/**
 * The answer's `result` (`{}` when absent); its `disconnect` as {@link DisconnectError}, its `error` as
 * {@link RpcError} with the application's code.
 */
export function resultOf<R extends object>(answer: ProxyAnswer<R>): Partial<R> {
  if (answer.disconnect && typeof answer.disconnect.code === 'number') {
    throw new DisconnectError(answer.disconnect.code, String(answer.disconnect.reason ?? '').slice(0, 100));
  }
  if (answer.error && typeof answer.error.code === 'number') {
    throw new RpcError(answer.error.code, String(answer.error.message ?? 'error'), answer.error.temporary === true);
  }
  return typeof answer.result === 'object' && answer.result !== null ? answer.result : {};
}

/** `data` or `b64data` (holding JSON) of a proxy result. */
export function dataOf(result: { data?: JsonValue; b64data?: string }): JsonValue | undefined {
  if (typeof result.b64data === 'string') {
    try {
      return JSON.parse(Buffer.from(result.b64data, 'base64').toString('utf8')) as JsonValue;
    } catch {
      throw new RpcError(ErrorCode.Internal);
    }
  }
  return result.data;
}

/** `info` or `b64info` (holding JSON) of a proxy result. */
export function infoOf(result: { info?: JsonValue; b64info?: string }): JsonValue | undefined {
  return dataOf({ ...(result.info !== undefined ? { data: result.info } : {}), ...(result.b64info !== undefined ? { b64data: result.b64info } : {}) });
}

/** A whole number of seconds since the epoch, or 0. */
export function expireAtOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}
