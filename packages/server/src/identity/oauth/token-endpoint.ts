import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IdentityError, RateLimitedError } from '../errors.js';
import { clientAddress, clientFacts } from '../http/client-address.js';
import { normaliseEmail } from '../http/request.js';
import { consumeAnyTotp } from '../mfa/factors.js';
import { verifiedTotpFactors } from '../store/factors.js';
import { verifyPassword } from '../passwords.js';
import { refreshGrant } from '../refresh.js';
import type { IdentityRuntime } from '../runtime.js';
import { finishSession, startSession } from '../sessions.js';
import { isBanned } from '../users.js';
import { findUserByEmail } from '../store/users.js';
import { SCOPE_TOKEN, authenticateOAuthClient, type ClientRow } from './clients.js';
import { issueClientToken } from './client-token.js';
import { OAuthMessages, OAuthTokenError } from './errors.js';
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
  if (type !== FORM) throw new OAuthTokenError('invalid_request', `The request body must be ${FORM}`);
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(typeof request.body === 'string' ? request.body : '')) {
    if (params.has(name)) throw new OAuthTokenError('invalid_request', `Parameter "${name}" was sent more than once`);
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
    throw new OAuthTokenError('invalid_client', 'Malformed HTTP Basic credentials', { basicChallenge: true });
  }
}

/** The client credentials of the request: HTTP Basic (RFC 6749 §2.3.1) or the form; never both. */
function clientCredentials(request: FastifyRequest, form: Map<string, string>): ClientCredentials | null {
  const header = request.headers.authorization;
  const basic = typeof header === 'string' ? /^Basic\s+([A-Za-z0-9+/=._~-]*)\s*$/i.exec(header) : null;
  const postId = form.get('client_id');
  const postSecret = form.get('client_secret');
  if (basic) {
    if (postSecret !== undefined) throw new OAuthTokenError('invalid_request', 'Use one client authentication method: HTTP Basic or client_secret in the body, not both');
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) throw new OAuthTokenError('invalid_client', 'Malformed HTTP Basic credentials', { basicChallenge: true });
    const id = decodeBasicPart(decoded.slice(0, colon));
    if (postId !== undefined && postId !== id) throw new OAuthTokenError('invalid_request', 'client_id in the body differs from the HTTP Basic credentials');
    return { id, secret: decodeBasicPart(decoded.slice(colon + 1)), method: 'client_secret_basic' };
  }
  if (postSecret !== undefined) {
    if (postId === undefined) throw new OAuthTokenError('invalid_request', 'client_secret without client_id');
    return { id: postId, secret: postSecret, method: 'client_secret_post' };
  }
  return null;
}

async function authenticateClient(runtime: IdentityRuntime, credentials: ClientCredentials): Promise<ClientRow> {
  const client = await authenticateOAuthClient(runtime.db, credentials.id, credentials.secret);
  if (!client) throw new OAuthTokenError('invalid_client', OAuthMessages.invalidClient, { basicChallenge: credentials.method === 'client_secret_basic' });
  return client;
}

function required(form: Map<string, string>, name: string): string {
  const value = form.get(name);
  if (value === undefined) throw new OAuthTokenError('invalid_request', `Missing required parameter "${name}"`);
  return value;
}

function rateLimit(runtime: IdentityRuntime, request: FastifyRequest): void {
  if (!runtime.limits.token.take(clientAddress(request, runtime.settings))) throw new OAuthTokenError('slow_down', 'Request rate limit reached');
}

/** Maps the identity service's refusals of a user grant to `invalid_grant` (their message kept). */
function asOAuthError(error: unknown): unknown {
  if (!(error instanceof IdentityError)) return error;
  if (error.status === 429) return new OAuthTokenError('slow_down', error.message);
  if (error.status === 409) return new OAuthTokenError('invalid_request', error.message, { status: 409 });
  if (error.status >= 500) return error;
  return new OAuthTokenError('invalid_grant', error.message);
}

async function passwordGrant(runtime: IdentityRuntime, request: FastifyRequest, form: Map<string, string>): Promise<Record<string, unknown>> {
  rateLimit(runtime, request);
  const username = required(form, 'username');
  const password = required(form, 'password');
  const code = form.get('totp');
  if (!runtime.settings.emailEnabled) throw new OAuthTokenError('unauthorized_client', 'Email logins are disabled');
  let email: string | null;
  try {
    email = normaliseEmail(username);
  } catch {
    email = null;
  }
  // The account is looked up while the attempt is counted; a refused attempt compares no password.
  const [attempt, user] = await Promise.all([runtime.logins.begin(email ?? username, clientAddress(request, runtime.settings)), email ? findUserByEmail(runtime.db, email) : null]);
  const ok = await verifyPassword(password, user?.encrypted_password ?? null);
  if (!user || !ok) throw new OAuthTokenError('invalid_grant', 'Invalid login credentials');
  await attempt.succeeded();
  if (isBanned(user)) throw new OAuthTokenError('invalid_grant', 'User is banned');
  if (!user.email_confirmed_at) throw new OAuthTokenError('invalid_grant', 'Email not confirmed');
  const factors = await verifiedTotpFactors(runtime.db, user.id);
  let secondFactor = false;
  if (factors.length > 0) {
    if (code === undefined) throw new OAuthTokenError('invalid_grant', OAuthMessages.totpRequired);
    if (!(await consumeAnyTotp(runtime.db, factors, code))) throw new OAuthTokenError('invalid_grant', OAuthMessages.totpInvalid);
    secondFactor = true;
  }
  const prepared = await runtime.db
    .transaction((tx) =>
      startSession(tx, runtime.issuer, user.id, {
        method: 'password',
        aal: secondFactor ? 'aal2' : 'aal1',
        alsoVerified: secondFactor ? ['totp'] : [],
        client: clientFacts(request, runtime.settings),
        audit: { writer: runtime.audit, traits: { provider: 'email' } },
      }),
    )
    .catch((error: unknown) => {
      throw asOAuthError(error);
    });
  return { ...(await finishSession(runtime.issuer, prepared)) };
}

async function refreshTokenGrant(runtime: IdentityRuntime, form: Map<string, string>): Promise<Record<string, unknown>> {
  const token = required(form, 'refresh_token');
  try {
    return { ...(await refreshGrant({ ...runtime, sessionLimiter: runtime.limits.refresh }, token)) };
  } catch (error) {
    throw asOAuthError(error);
  }
}

/** The granted scopes: the requested ones when all are allowed, every allowed one when none was asked for. */
function grantedScopes(client: ClientRow, requested: string | undefined): string[] {
  if (requested === undefined) return client.scopes;
  const asked = [...new Set(requested.split(' ').filter((part) => part !== ''))];
  for (const scope of asked) {
    if (!SCOPE_TOKEN.test(scope)) throw new OAuthTokenError('invalid_scope', `Malformed scope ${JSON.stringify(scope)}`);
    if (!client.scopes.includes(scope)) throw new OAuthTokenError('invalid_scope', `Scope "${scope}" is not allowed for this client`);
  }
  return asked;
}

async function clientCredentialsGrant(runtime: IdentityRuntime, request: FastifyRequest, form: Map<string, string>, credentials: ClientCredentials | null): Promise<Record<string, unknown>> {
  rateLimit(runtime, request);
  if (!credentials) throw new OAuthTokenError('invalid_client', 'Client authentication is required (HTTP Basic or client_id and client_secret)', { basicChallenge: true });
  const client = await authenticateClient(runtime, credentials);
  // Only a client registered for this grant gets its tokens (a client for the authorization code flow does not).
  if (!client.grant_types.includes('client_credentials')) throw new OAuthTokenError('unauthorized_client', 'Client is not allowed to use grant type: client_credentials');
  return { ...(await issueClientToken(runtime, client, grantedScopes(client, form.get('scope')))) };
}

function sendOAuthError(reply: FastifyReply, error: OAuthTokenError): FastifyReply {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (error.basicChallenge) reply.header('www-authenticate', 'Basic realm="latchkey", charset="UTF-8"');
  return reply.code(error.status).send({ error: error.error, error_description: error.message });
}

/**
 * `POST /oauth/token`: an RFC 6749 token endpoint (form bodies, `{"error","error_description"}` errors)
 * for the `password` (with `totp` for accounts with a verified TOTP factor), `refresh_token` and
 * `client_credentials` grants. Registered in its own scope: its own body parser and error format.
 */
export function registerOAuthTokenEndpoint(app: FastifyInstance, runtime: IdentityRuntime): void {
  app.register(async (scope) => {
    scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, body));
    scope.setErrorHandler((error: unknown, _request, reply) => {
      if (error instanceof OAuthTokenError) return sendOAuthError(reply, error);
      if (isDatabaseUnavailable(error)) return sendOAuthError(markUnavailable(reply), new OAuthTokenError('temporarily_unavailable', DATABASE_UNAVAILABLE_MESSAGE, { status: 503 }));
      if (error instanceof RateLimitedError) return sendOAuthError(reply.header('retry-after', String(error.retryAfter)), new OAuthTokenError('slow_down', error.message));
      const status = (error as { statusCode?: number }).statusCode;
      if (error instanceof IdentityError && error.status < 500) return sendOAuthError(reply, new OAuthTokenError('invalid_request', error.message));
      if (status !== undefined && status >= 400 && status < 500) {
        return sendOAuthError(reply, new OAuthTokenError('invalid_request', status === 413 ? 'Request body too large' : 'Malformed request', { status: status === 413 ? 413 : 400 }));
      }
      const { message, code } = error as { message?: string; code?: string };
      runtime.logger.error({ error: { message, code }, path: OAUTH_TOKEN_PATH }, 'token request failed');
      return sendOAuthError(reply, new OAuthTokenError('server_error', 'Unexpected failure, please check server logs for more information'));
    });

    scope.post(OAUTH_TOKEN_PATH, async (request, reply) => {
      const form = parseForm(request);
      const grant = required(form, 'grant_type');
      const credentials = clientCredentials(request, form);
      let body: Record<string, unknown>;
      if (grant === 'client_credentials') {
        body = await clientCredentialsGrant(runtime, request, form, credentials);
      } else if (grant === 'password' || grant === 'refresh_token') {
        // Public clients send no secret; a confidential client that does must authenticate.
        if (credentials) await authenticateClient(runtime, credentials);
        body = grant === 'password' ? await passwordGrant(runtime, request, form) : await refreshTokenGrant(runtime, form);
      } else {
        throw new OAuthTokenError('unsupported_grant_type', `Unsupported grant_type ${JSON.stringify(grant)}`);
      }
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return body;
    });
  });
}
