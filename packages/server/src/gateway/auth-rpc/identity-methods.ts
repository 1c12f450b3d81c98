import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../protocol/codes.js';
import type { JsonValue } from '../protocol/types.js';
import { RpcError } from '../rpc/errors.js';
import type { RpcContext, RpcHandler, RpcRegistry } from '../rpc/registry.js';
import type { AuthMethod } from './restricted.js';

/** An identity route's answer as the socket sees it. */
interface RouteAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A login answer's second factor as the identity service lists it. */
interface FactorEntry {
  readonly id?: unknown;
  readonly factor_type?: unknown;
  readonly status?: unknown;
}

function objectOf(data: JsonValue | undefined): Record<string, JsonValue> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new RpcError(ErrorCode.BadRequest, 'data must be an object');
  return data;
}

/** Copies the named string fields of `data`, refusing fields of another type. */
function fields(data: Record<string, JsonValue>, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = data[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw new RpcError(ErrorCode.BadRequest, `${name} must be a string`);
    picked[name] = value;
  }
  return picked;
}

/**
 * The identity route's refusal as an RPC error: 429 → 111 (temporary), other 4xx → the HTTP status as
 * the application code with the identity error code (`invalid_credentials`, `otp_expired`…) as the
 * message, 5xx → 100 (temporary).
 */
function refusal({ status, body }: RouteAnswer): RpcError {
  const code = typeof body.code === 'string' ? body.code : typeof body.error === 'string' ? body.error : 'error';
  if (status === 429) return new RpcError(ErrorCode.TooManyRequests, code, true);
  if (status >= 500) return new RpcError(ErrorCode.Internal, undefined, true);
  return new RpcError(status, code);
}

/**
 * Registers the sign-in methods a connection without a token may call (`auth.login`, `auth.refresh`,
 * `auth.otp`, `auth.verify`). Each runs the identity service's own HTTP route in process (the same
 * grant code, the same answer, the same rate limits and login throttle), as a request from the
 * connection's client address: the socket's peer, with the forwarding header kept from the upgrade
 * request, so trusted-proxy rules apply as for HTTP. Request data never reaches the logs.
 */
export function registerAuthMethods(rpc: RpcRegistry, app: FastifyInstance, prefix: string): void {
  const route = async (context: RpcContext, url: string, payload: Record<string, string>, bearer?: string): Promise<RouteAnswer> => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-supabase-api-version': '2024-01-01' };
    for (const [name, value] of Object.entries(context.headers)) if (typeof value === 'string') headers[name] = value;
    if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
    const response = await app.inject({
      method: 'POST',
      url: `${prefix}${url}`,
      headers,
      payload: JSON.stringify(payload),
      ...(context.address !== '' ? { remoteAddress: context.address } : {}),
    });
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = response.body === '' ? {} : JSON.parse(response.body);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      body = {};
    }
    return { status: response.statusCode, body };
  };
  const register = (method: AuthMethod, handler: RpcHandler<JsonValue | undefined, Record<string, unknown>>): void => rpc.register(method, handler);
  const answer = (result: RouteAnswer): Record<string, unknown> => {
    if (result.status !== 200) throw refusal(result);
    return result.body;
  };

  register('auth.login', async (data, context) => {
    const input = objectOf(data);
    const { email, password, totp } = fields(input, ['email', 'password', 'totp']);
    const session = answer(await route(context, '/token?grant_type=password', { ...(email !== undefined ? { email } : {}), ...(password !== undefined ? { password } : {}) }));
    if (totp === undefined) return session;
    // A second factor: challenge the user's verified TOTP factor and verify the code (aal2 session).
    const user = session.user as { factors?: FactorEntry[] } | undefined;
    const factor = (user?.factors ?? []).find((entry) => entry.factor_type === 'totp' && entry.status === 'verified');
    const access = session.access_token;
    if (!factor || typeof factor.id !== 'string' || typeof access !== 'string') throw new RpcError(422, 'mfa_factor_not_found');
    const challenge = answer(await route(context, `/factors/${encodeURIComponent(factor.id)}/challenge`, {}, access));
    const challengeId = typeof challenge.id === 'string' ? challenge.id : '';
    return answer(await route(context, `/factors/${encodeURIComponent(factor.id)}/verify`, { challenge_id: challengeId, code: totp }, access));
  });

  register('auth.refresh', async (data, context) => {
    const { refresh_token } = fields(objectOf(data), ['refresh_token']);
    return answer(await route(context, '/token?grant_type=refresh_token', refresh_token !== undefined ? { refresh_token } : {}));
  });

  register('auth.otp', async (data, context) => {
    const { email } = fields(objectOf(data), ['email']);
    answer(await route(context, '/otp', email !== undefined ? { email } : {}));
    return {};
  });

  register('auth.verify', async (data, context) => {
    const picked = fields(objectOf(data), ['email', 'token', 'type']);
    return answer(await route(context, '/verify', picked));
  });
}
