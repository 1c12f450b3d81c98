/**
 * Token grants over the gateway's WebSocket: a `fetch` for the {@link TokenManager} that sends each
 * grant as an `auth.*` RPC on a connection opened without a token.
 *
 * @module
 */
import { Centrifuge } from 'centrifuge';

/** Options of {@link socketTokenFetch}. */
export interface SocketTokenFetchOptions {
  /** WebSocket constructor (`WebSocket` from `ws` on Node 20). Default the global one. */
  readonly websocket?: unknown;
  /** How long one grant may take, connection included (ms). Default 10 000. */
  readonly timeoutMs?: number;
}

/** An `auth.*` RPC error as centrifuge reports it. */
interface RpcFailure {
  readonly code?: unknown;
  readonly message?: unknown;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** The grant of an OAuth-format token request (form body) as an `auth.*` call. */
function rpcOf(body: URLSearchParams): { method: string; data: Record<string, string> } | null {
  const grant = body.get('grant_type');
  if (grant === 'password') {
    const totp = body.get('totp');
    return { method: 'auth.login', data: { email: body.get('username') ?? '', password: body.get('password') ?? '', ...(totp ? { totp } : {}) } };
  }
  if (grant === 'refresh_token') return { method: 'auth.refresh', data: { refresh_token: body.get('refresh_token') ?? '' } };
  return null;
}

/**
 * A `fetch` that answers OAuth-format token requests (`protocol: 'oauth'`) through the gateway at
 * `url` (`ws(s)://HOST/connection/websocket`): each request opens a connection without a token, calls
 * `auth.login` (password grant, with `totp` when given) or `auth.refresh`, and closes it. The answer is
 * the identity service's token JSON with status 200; an RPC refusal becomes an HTTP-style error answer
 * (its status the RPC code, e.g. 400 `invalid_credentials`; 111 → 429; other gateway codes → 503), so the
 * token manager's rules for permanent and transient failures apply unchanged. A gateway that cannot be
 * reached makes the fetch reject (transient).
 *
 * @example
 * ```ts
 * const manager = new TokenManager(new PasswordAuth(email, password), {
 *   tokenUrl: wsUrl,
 *   fetch: socketTokenFetch(wsUrl, { websocket: WebSocket }),
 * });
 * ```
 */
export function socketTokenFetch(url: string, options: SocketTokenFetchOptions = {}): typeof fetch {
  const websocket = options.websocket ?? (globalThis as { WebSocket?: unknown }).WebSocket;
  if (!websocket) throw new TypeError('no WebSocket implementation: pass options.websocket (WebSocket from "ws" on Node 20)');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError('timeoutMs must be > 0');
  return (async (_input: unknown, init?: RequestInit) => {
    const call = rpcOf(new URLSearchParams(typeof init?.body === 'string' ? init.body : ''));
    if (call === null) return json(400, { error: 'unsupported_grant_type', error_description: 'only password and refresh_token grants go over the socket' });
    const client = new Centrifuge(url, { websocket, timeout: timeoutMs });
    try {
      client.connect();
      await client.ready(timeoutMs);
      const result = await client.rpc(call.method, call.data);
      return json(200, result.data);
    } catch (error) {
      const { code, message } = (error ?? {}) as RpcFailure;
      if (typeof code !== 'number') throw new TypeError(`the gateway at ${url} could not be reached`);
      const reason = typeof message === 'string' ? message : 'error';
      if (code >= 400 && code < 500) return json(code, { error: reason });
      if (code === 111) return json(429, { error: reason });
      return json(503, { error: reason });
    } finally {
      client.disconnect();
    }
  });
}
