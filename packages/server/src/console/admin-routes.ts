import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { csrfMatches, readCookie, type ConsoleCredential, type ConsoleSession, type ConsoleSessions } from './sessions.js';

/** Name of the console's session cookie (scoped to `/admin`). */
export const CONSOLE_COOKIE = 'latchkey_console';

/** An answer of the identity service, relayed as it is. */
interface Relayed {
  readonly status: number;
  readonly body: string;
}

/** What the console needs of the server it runs in. */
export interface ConsoleAdminOptions {
  readonly sessions: ConsoleSessions;
  readonly anonKey: string;
  /** Extra admin-only reads the console offers beside the admin API (gateway figures, signing keys). */
  readonly extras: Readonly<Record<string, (method: string) => Promise<unknown>>>;
}

function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(typeof body === 'string' ? body : JSON.stringify(body));
}

function refuse(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return sendJson(reply, status, { error, message });
}

/** Where a console API path goes in the admin API: organizations under `/auth/v1/organizations`, the rest under `/auth/v1/admin`. */
function adminApiPath(rest: string): string | null {
  if (!/^[A-Za-z0-9/_.:-]*$/.test(rest) || rest.includes('..')) return null;
  return rest.startsWith('organizations') ? `/auth/v1/${rest}` : `/auth/v1/admin/${rest}`;
}

/**
 * The console's own routes under `/admin`: sign-in (an admin user's e-mail and password, or the
 * service key), sign-out, and `/admin/api/*`, which relays each call to the admin API with the
 * operator's credential. The browser holds only an httpOnly, SameSite=Strict cookie (Secure over TLS)
 * naming a session kept here; every call must carry the session's CSRF token in `x-csrf-token` and,
 * when the browser sends one, an `Origin` of this server.
 */
export function registerConsoleAdminRoutes(app: FastifyInstance, options: ConsoleAdminOptions): void {
  const { sessions } = options;

  const relay = async (method: string, url: string, bearer: string, body?: unknown): Promise<Relayed> => {
    const response = await app.inject({
      method: method,
      url,
      headers: {
        apikey: options.anonKey,
        authorization: `Bearer ${bearer}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return { status: response.statusCode, body: response.body };
  };

  /** A valid bearer for the session's credential, refreshing an admin user's token when it is about to expire. */
  const bearerOf = async (credential: ConsoleCredential): Promise<string | null> => {
    if (credential.kind === 'service_key') return credential.key;
    if (credential.accessExpiresAt - 30_000 > Date.now()) return credential.access;
    const response = await app.inject({
      method: 'POST',
      url: '/auth/v1/token?grant_type=refresh_token',
      headers: { apikey: options.anonKey, 'content-type': 'application/json' },
      payload: JSON.stringify({ refresh_token: credential.refresh }),
    });
    if (response.statusCode !== 200) return null;
    const tokens = response.json<{ access_token: string; refresh_token: string; expires_in: number }>();
    credential.access = tokens.access_token;
    credential.refresh = tokens.refresh_token;
    credential.accessExpiresAt = Date.now() + tokens.expires_in * 1000;
    return credential.access;
  };

  /** Whether `bearer` opens the admin API (the console grants nothing the admin API would not). */
  const opensAdminApi = async (bearer: string): Promise<boolean> => (await relay('GET', '/auth/v1/admin/users?per_page=1', bearer)).status === 200;

  const cookieHeader = (request: FastifyRequest, value: string, maxAge: number): string =>
    `${CONSOLE_COOKIE}=${value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${request.protocol === 'https' ? '; Secure' : ''}`;

  const sameOrigin = (request: FastifyRequest): boolean => {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    return origin === `${request.protocol}://${request.host}`;
  };

  /** The request's session when the cookie, the CSRF token and the origin all check out. */
  const authorised = (request: FastifyRequest, reply: FastifyReply): ConsoleSession | null => {
    const session = sessions.get(readCookie(request.headers.cookie, CONSOLE_COOKIE));
    if (!session) {
      refuse(reply, 401, 'console_signed_out', 'Sign in to the console');
      return null;
    }
    if (!sameOrigin(request) || !csrfMatches(session, request.headers['x-csrf-token'])) {
      refuse(reply, 403, 'csrf_failed', 'Missing or wrong CSRF token');
      return null;
    }
    return session;
  };

  const describe = (session: ConsoleSession) => ({
    signed_in: true,
    csrf_token: session.csrf,
    operator: session.credential.kind === 'user' ? { kind: 'user', email: session.credential.email } : { kind: 'service_key' },
  });

  app.get('/admin/session', async (request, reply) => {
    const session = sessions.get(readCookie(request.headers.cookie, CONSOLE_COOKIE));
    return sendJson(reply, 200, session ? describe(session) : { signed_in: false });
  });

  app.post('/admin/session', async (request, reply) => {
    if (!sameOrigin(request)) return refuse(reply, 403, 'csrf_failed', 'Cross-origin sign-in refused');
    const body = (request.body ?? {}) as Record<string, unknown>;
    let credential: ConsoleCredential;
    if (typeof body.service_key === 'string' && body.service_key !== '') {
      if (!(await opensAdminApi(body.service_key))) return refuse(reply, 401, 'invalid_credentials', 'That key does not open the admin API');
      credential = { kind: 'service_key', key: body.service_key };
    } else if (typeof body.email === 'string' && typeof body.password === 'string' && body.email !== '') {
      const response = await app.inject({
        method: 'POST',
        url: '/auth/v1/token?grant_type=password',
        headers: { apikey: options.anonKey, 'content-type': 'application/json', ...(request.headers['x-forwarded-for'] ? {} : {}) },
        payload: JSON.stringify({ email: body.email, password: body.password }),
        remoteAddress: request.ip,
      });
      if (response.statusCode !== 200) {
        const status = response.statusCode === 429 ? 429 : 401;
        return refuse(reply, status, status === 429 ? 'over_request_rate_limit' : 'invalid_credentials', status === 429 ? 'Too many sign-in attempts' : 'Wrong e-mail or password');
      }
      const tokens = response.json<{ access_token: string; refresh_token: string; expires_in: number }>();
      if (!(await opensAdminApi(tokens.access_token))) {
        await relay('POST', '/auth/v1/logout?scope=local', tokens.access_token);
        return refuse(reply, 403, 'not_admin', 'This user does not have an admin role');
      }
      credential = { kind: 'user', email: body.email, access: tokens.access_token, refresh: tokens.refresh_token, accessExpiresAt: Date.now() + tokens.expires_in * 1000 };
    } else {
      return refuse(reply, 400, 'validation_failed', 'Give an e-mail and password, or the service key');
    }
    const { id, session } = sessions.open(credential);
    reply.header('set-cookie', cookieHeader(request, id, 8 * 3600));
    return sendJson(reply, 200, describe(session));
  });

  app.delete('/admin/session', async (request, reply) => {
    const session = authorised(request, reply);
    if (!session) return reply;
    if (session.credential.kind === 'user') await relay('POST', '/auth/v1/logout?scope=local', session.credential.access);
    sessions.close(readCookie(request.headers.cookie, CONSOLE_COOKIE));
    reply.header('set-cookie', cookieHeader(request, '', 0));
    return sendJson(reply, 200, { signed_in: false });
  });

  const forward = async (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
    const session = authorised(request, reply);
    if (!session) return reply;
    const bearer = await bearerOf(session.credential);
    if (!bearer) {
      sessions.close(readCookie(request.headers.cookie, CONSOLE_COOKIE));
      return refuse(reply, 401, 'console_signed_out', 'The console session ended; sign in again');
    }
    const rest = request.params['*'];
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const extra = options.extras[rest];
    if (extra) {
      // Console reads beside the admin API are open only to a credential the admin API accepts.
      if (!(await opensAdminApi(bearer))) return refuse(reply, 403, 'not_admin', 'The credential no longer opens the admin API');
      try {
        return sendJson(reply, 200, await extra(request.method));
      } catch (error) {
        const status = (error as { status?: number }).status ?? 500;
        return refuse(reply, status, (error as { code?: string }).code ?? 'internal_error', status < 500 ? (error as Error).message : 'Internal server error');
      }
    }
    const target = adminApiPath(rest);
    if (!target) return refuse(reply, 404, 'not_found', 'No such console route');
    const relayed = await relay(request.method, `${target}${query}`, bearer, request.body ?? undefined);
    return sendJson(reply, relayed.status, relayed.body === '' ? {} : relayed.body);
  };
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/admin/api/*', handler: forward });
}
