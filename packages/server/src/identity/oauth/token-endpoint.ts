import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IdentityError, OAuthError, RateLimitedError } from '../errors.js';
import type { GrantService } from '../grants/service.js';
import type { GrantCaller } from '../grants/types.js';
import { clientFacts } from '../http/client-address.js';
import type { IdentityRuntime } from '../runtime.js';
import { authenticateOAuthClient, type ClientRow } from './clients.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable, markUnavailable } from '../../http/unavailable.js';

/** Path of the token endpoint, under `/auth/v1`. */
export const OAUTH_TOKEN_PATH = '/oauth/token';
/** What the OpenID discovery document announces. */
export const OAUTH_GRANT_TYPES = ['password', 'refresh_token', 'client_credentials'] as const;
export const OAUTH_CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;

const FORM = 'application/x-www-form-urlencoded';

/** The form's parameters; a parameter sent twice is `invalid_request` (RFC 6749 §3.2). */
function parseForm(request: FastifyRequest): Map<string, string> {
  const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== FORM) throw new OAuthError('invalid_request', `The request body must be ${FORM}`);
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(typeof request.body === 'string' ? request.body : '')) {
    if (params.has(name)) throw new OAuthError('invalid_request', `Parameter "${name}" was sent more than once`);
    if (value !== '') params.set(name, value);
  }
  return params;
}

interface ClientCredentials {
  readonly id: string;
  readonly secret: string;
  readonly method: 'client_secret_basic' | 'client_secret_post';
}

function decodeBasicPart(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials', { basicChallenge: true });
  }
}

/** The client credentials of the request: HTTP Basic (RFC 6749 §2.3.1) or the form; never both. */
function clientCredentials(request: FastifyRequest, form: Map<string, string>): ClientCredentials | null {
  const header = request.headers.authorization;
  const basic = typeof header === 'string' ? /^Basic\s+([A-Za-z0-9+/=._~-]*)\s*$/i.exec(header) : null;
  const postId = form.get('client_id');
  const postSecret = form.get('client_secret');
  if (basic) {
    if (postSecret !== undefined) throw new OAuthError('invalid_request', 'Use one client authentication method: HTTP Basic or client_secret in the body, not both');
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials', { basicChallenge: true });
    const id = decodeBasicPart(decoded.slice(0, colon));
    if (postId !== undefined && postId !== id) throw new OAuthError('invalid_request', 'client_id in the body differs from the HTTP Basic credentials');
    return { id, secret: decodeBasicPart(decoded.slice(colon + 1)), method: 'client_secret_basic' };
  }
  if (postSecret !== undefined) {
    if (postId === undefined) throw new OAuthError('invalid_request', 'client_secret without client_id');
    return { id: postId, secret: postSecret, method: 'client_secret_post' };
  }
  return null;
}

async function authenticateClient(runtime: IdentityRuntime, credentials: ClientCredentials): Promise<ClientRow> {
  const client = await authenticateOAuthClient(runtime.db, credentials.id, credentials.secret);
  if (!client) throw new OAuthError('invalid_client', 'Client authentication failed', { basicChallenge: credentials.method === 'client_secret_basic' });
  return client;
}

/**
 * Authenticates the client sent with a user grant (password, refresh_token). Each failure takes one
 * request from the caller's address bucket of the token endpoint, and no secret is compared while that
 * bucket is empty (`slow_down`): client secrets cannot be guessed through these grants faster than
 * through client_credentials. A client that authenticates costs nothing here.
 */
async function authenticateLimited(runtime: IdentityRuntime, credentials: ClientCredentials, caller: GrantCaller): Promise<void> {
  if (!runtime.limits.token.allows(caller.ip)) throw new OAuthError('slow_down', 'Request rate limit reached');
  try {
    await authenticateClient(runtime, credentials);
  } catch (error) {
    runtime.limits.token.take(caller.ip);
    throw error;
  }
}

function required(form: Map<string, string>, name: string): string {
  const value = form.get(name);
  if (value === undefined) throw new OAuthError('invalid_request', `Missing required parameter "${name}"`);
  return value;
}

/**
 * A refusal of the grant service in RFC 6749 terms: an `OAuthError` as it is; the login throttle's wait
 * as it is (answered `slow_down` with `Retry-After`); GoTrue's codes as `invalid_grant` with their
 * message, except rate limits (`slow_down`), disabled e-mail logins (`unauthorized_client`) and refresh
 * contention (`invalid_request`, 409). Server errors stay server errors.
 */
function asOAuthError(error: unknown): unknown {
  if (!(error instanceof IdentityError) || error instanceof RateLimitedError) return error;
  if (error.status === 429) return new OAuthError('slow_down', error.message);
  if (error.status === 409) return new OAuthError('invalid_request', error.message, { status: 409 });
  if (error.status >= 500) return error;
  if (error.code === 'email_provider_disabled') return new OAuthError('unauthorized_client', error.message);
  return new OAuthError('invalid_grant', error.message);
}

/** Runs the grant named by the form through the grant service; each grant's input read from the form. */
async function grant(grants: GrantService, request: FastifyRequest, runtime: IdentityRuntime, form: Map<string, string>): Promise<Record<string, unknown>> {
  const type = required(form, 'grant_type');
  const credentials = clientCredentials(request, form);
  const caller = clientFacts(request, runtime.settings);
  if (type === 'client_credentials') {
    return {
      ...(await grants.issue('client_credentials', caller, async () => {
        if (!credentials) throw new OAuthError('invalid_client', 'Client authentication is required (HTTP Basic or client_id and client_secret)', { basicChallenge: true });
        return { client: await authenticateClient(runtime, credentials), scope: form.get('scope') };
      })),
    };
  }
  if (type !== 'password' && type !== 'refresh_token') throw new OAuthError('unsupported_grant_type', `Unsupported grant_type ${JSON.stringify(type)}`);
  // Public clients send no secret; a confidential client that does must authenticate.
  if (credentials) await authenticateLimited(runtime, credentials, caller);
  if (type === 'refresh_token') return { ...(await grants.issue('refresh_token', caller, () => ({ refreshToken: required(form, 'refresh_token') }))) };
  return {
    ...(await grants.issue('password', caller, () => ({
      email: required(form, 'username'),
      password: required(form, 'password'),
      secondFactor: { kind: 'required-when-enrolled', code: form.get('totp') },
    }))),
  };
}

function sendOAuthError(reply: FastifyReply, error: OAuthError): FastifyReply {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (error.basicChallenge) reply.header('www-authenticate', 'Basic realm="latchkey", charset="UTF-8"');
  return reply.code(error.status).send({ error: error.error, error_description: error.message });
}

/**
 * `POST /oauth/token`: an RFC 6749 token endpoint (form bodies, `{"error","error_description"}` errors)
 * for the `password` (with `totp` for accounts with a verified TOTP factor), `refresh_token` and
 * `client_credentials` grants. Registered in its own scope: its own body parser and error format.
 */
export function registerOAuthTokenEndpoint(app: FastifyInstance, runtime: IdentityRuntime, grants: GrantService): void {
  app.register(async (scope) => {
    scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((error: unknown, _request, reply) => {
      if (error instanceof OAuthError) return sendOAuthError(reply, error);
      if (isDatabaseUnavailable(error)) return sendOAuthError(markUnavailable(reply), new OAuthError('temporarily_unavailable', DATABASE_UNAVAILABLE_MESSAGE, { status: 503 }));
      if (error instanceof RateLimitedError) return sendOAuthError(reply.header('retry-after', String(error.retryAfter)), new OAuthError('slow_down', error.message));
      const status = (error as { statusCode?: number }).statusCode;
      if (error instanceof IdentityError && error.status < 500) return sendOAuthError(reply, new OAuthError('invalid_request', error.message));
      if (status !== undefined && status >= 400 && status < 500) {
        return sendOAuthError(reply, new OAuthError('invalid_request', status === 413 ? 'Request body too large' : 'Malformed request', { status: status === 413 ? 413 : 400 }));
      }
      const { message, code } = error as { message?: string; code?: string };
      runtime.logger.error({ error: { message, code }, path: OAUTH_TOKEN_PATH }, 'token request failed');
      return sendOAuthError(reply, new OAuthError('server_error', 'Unexpected failure, please check server logs for more information'));
    });

    scope.post(OAUTH_TOKEN_PATH, async (request, reply) => {
      const form = parseForm(request);
      const body = await grant(grants, request, runtime, form).catch((error: unknown) => {
        throw asOAuthError(error);
      });
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return body;
    });
  });
}
