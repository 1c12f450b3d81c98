import type { GatewayClaims } from '../auth/claims.js';
import { ErrorCode } from '../protocol/codes.js';
import type { WireFormat } from '../protocol/codec.js';
import type { JsonValue } from '../protocol/types.js';
import type { RpcProxySettings } from '../settings.js';
import { dataOf, postToProxy, resultOf, type ProxyAnswer } from '../proxy/http.js';
import { RpcError, rpcErrorReply } from './errors.js';

/** Who is calling an RPC method. */
export interface RpcContext {
  /** Client (connection) id. */
  readonly client: string;
  /** User id (`sub`), `""` for anonymous connections. */
  readonly user: string;
  readonly method: string;
  /** Verified connection token claims, `null` for anonymous connections. */
  readonly claims: GatewayClaims | null;
  /** The socket's peer address: the client, or the proxy in front of it. */
  readonly address: string;
  /** Connect request headers the gateway keeps (lower-case names): those the RPC proxy forwards, and the client-address and user-agent headers. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The connection's wire format (`data` reaches handlers as JSON in both). */
  readonly protocol?: WireFormat;
}

/**
 * An in-process RPC method. Receives the request's `data` (JSON) and resolves to the reply's `data`.
 * Throw {@link RpcError} for a specific protocol error.
 */
export type RpcHandler<TData = JsonValue | undefined, TResult = unknown> = (data: TData, context: RpcContext) => TResult | Promise<TResult>;

/** Connection details forwarded to the RPC proxy. */
export interface ProxyCaller extends RpcContext {
  readonly meta: JsonValue | undefined;
}

export interface RpcRouting {
  readonly proxy: RpcProxySettings | null;
  readonly withoutNamespaceProxy: boolean;
  readonly namespaces: ReadonlyMap<string, boolean>;
  readonly boundary: string;
}

/** In-process RPC handlers, with the HTTP RPC proxy (Centrifugo's format) for the rest. */
export class RpcRegistry {
  readonly #handlers = new Map<string, RpcHandler<never>>();
  constructor(readonly routing: RpcRouting) {}

  /** Registers `handler` for `method`, replacing none: a second registration throws. */
  register<TData, TResult>(method: string, handler: RpcHandler<TData, TResult>): void {
    if (typeof method !== 'string' || method === '') throw new TypeError('method must be a non-empty string');
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    if (this.#handlers.has(method)) throw new TypeError(`RPC method ${method} is already registered`);
    this.#handlers.set(method, handler);
  }

  /** Method names registered in this process. */
  methods(): string[] {
    return [...this.#handlers.keys()];
  }

  #proxied(method: string): boolean {
    if (!this.routing.proxy) return false;
    const at = method.indexOf(this.routing.boundary);
    if (at === -1) return this.routing.withoutNamespaceProxy;
    const namespace = this.routing.namespaces.get(method.slice(0, at));
    if (namespace === undefined) return this.routing.namespaces.size === 0 && this.routing.withoutNamespaceProxy;
    return namespace;
  }

  /**
   * Runs `method`: 108 when there is no handler at all, 104 for an unknown method, the handler's mapped
   * error otherwise. Proxy `disconnect` answers become {@link DisconnectError}.
   */
  async call(method: string, data: JsonValue | undefined, caller: ProxyCaller): Promise<JsonValue | undefined> {
    const handler = this.#handlers.get(method);
    if (handler) {
      try {
        const result = await (handler as RpcHandler<JsonValue | undefined, unknown>)(data, caller);
        return result === undefined ? undefined : (JSON.parse(JSON.stringify(result)) as JsonValue);
      } catch (error) {
        throw rpcErrorReply(error);
      }
    }
    if (this.#proxied(method)) return this.#forward(method, data, caller);
    if (this.#handlers.size === 0 && !this.routing.proxy) throw new RpcError(ErrorCode.NotAvailable);
    throw new RpcError(ErrorCode.MethodNotFound);
  }

  async #forward(method: string, data: JsonValue | undefined, caller: ProxyCaller): Promise<JsonValue | undefined> {
    const proxy = this.routing.proxy;
    if (!proxy) throw new RpcError(ErrorCode.NotAvailable);
    let answer: ProxyAnswer<{ data?: JsonValue; b64data?: string }>;
    try {
      answer = await postToProxy(proxy, caller, { method, ...(data !== undefined ? { data } : {}) });
    } catch {
      throw new RpcError(ErrorCode.Internal);
    }
    return dataOf(resultOf(answer));
  }
}
