import type { FastifyInstance } from 'fastify';
import { IdentityError, OAuthError } from '../../identity/errors.js';
import type { GrantCaller, GrantService } from '../../identity/grants/index.js';
import { clientAddressOf, type ClientAddressRule } from '../../identity/http/client-address.js';
import { isDatabaseUnavailable } from '../../http/unavailable.js';
import type { Logger } from '../../logging/logger.js';
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

/** What sign-in over the socket needs of the identity service running in this process. */
export interface SocketIdentity {
  readonly grants: GrantService;
  /** How the client address is found (`LATCHKEY_TRUSTED_PROXIES`, `LATCHKEY_RATE_LIMIT_HEADER`), as for HTTP. */
  readonly settings: ClientAddressRule;
  readonly logger: Logger;
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
 * A refusal as an RPC error: 429 → 111 (temporary), other 4xx → the HTTP status as the application
 * code with the identity error code (`invalid_credentials`, `otp_expired`…) as the message, 5xx → 100
 * (temporary).
 */
function refusal(status: number, code: string): RpcError {
  if (status === 429) return new RpcError(ErrorCode.TooManyRequests, code, true);
  if (status >= 500) return new RpcError(ErrorCode.Internal, undefined, true);
  return new RpcError(status, code);
}

/** An identity route's answer that is not 200 as an RPC error. */
function routeRefusal({ status, body }: RouteAnswer): RpcError {
  return refusal(status, typeof body.code === 'string' ? body.code : typeof body.error === 'string' ? body.error : 'error');
}

/**
 * A grant's refusal as the same RPC error the HTTP answer gives: `IdentityError` by status and code,
 * GoTrue's OAuth-style error as 400 with its `error`; anything else is a temporary 100 (logged, without
 * the request's data, unless the database is unreachable).
 */
function grantRefusal(error: unknown, logger: Logger): RpcError {
  if (error instanceof IdentityError && error.status < 500) return refusal(error.status, error.code);
  if (error instanceof OAuthError) return refusal(400, error.error);
  if (isDatabaseUnavailable(error)) return refusal(503, 'database_unavailable');
  const { message, code } = error as { message?: string; code?: string };
  logger.error({ error: { message, code } }, 'sign-in over the socket failed');
  return refusal(500, 'unexpected_failure');
}

/**
 * Registers the sign-in methods a connection without a token may call (`auth.login`, `auth.refresh`,
 * `auth.otp`, `auth.verify`). `auth.login` and `auth.refresh` are the password and refresh_token grants
 * of the grant service (a TOTP code sent with the password raises the session to aal2); `auth.otp` and
 * `auth.verify` run the identity service's own HTTP routes in process. Either way the same checks,
 * answers, rate limits and login throttle as over HTTP apply, for the connection's client address: the
 * socket's peer, with the forwarding header kept from the upgrade request, so trusted-proxy rules apply
 * as for HTTP. Request data never reaches the logs.
 */
export function registerAuthMethods(rpc: RpcRegistry, app: FastifyInstance, prefix: string, identity: SocketIdentity): void {
  const callerOf = (context: RpcContext): GrantCaller => {
    const agent = context.headers['user-agent'];
    // An in-process connection without a peer address counts as the loopback, as for HTTP.
    return { ip: clientAddressOf(context.address !== '' ? context.address : '127.0.0.1', context.headers, identity.settings), userAgent: typeof agent === 'string' ? agent : undefined };
  };
  const grant = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw grantRefusal(error, identity.logger);
    }
  };
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
    if (result.status !== 200) throw routeRefusal(result);
    return result.body;
  };

  register('auth.login', async (data, context) => {
    const { email, password, totp } = fields(objectOf(data), ['email', 'password', 'totp']);
    return {
      ...(await grant(() =>
        identity.grants.issue('password', callerOf(context), () => ({
          email,
          password: password ?? '',
          ...(totp !== undefined ? { secondFactor: { kind: 'given', code: totp.trim() } as const } : {}),
        })),
      )),
    };
  });

  register('auth.refresh', async (data, context) => {
    const { refresh_token: refreshToken } = fields(objectOf(data), ['refresh_token']);
    return { ...(await grant(() => identity.grants.issue('refresh_token', callerOf(context), () => ({ refreshToken: refreshToken ?? '' })))) };
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
