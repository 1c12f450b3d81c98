import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseJsonText, UnsafeInputError } from '../../input/index.js';
import type { Logger } from '../../logging/logger.js';
import { IdentityError, OAuthError, RateLimitedError, validationFailed } from '../errors.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable, markUnavailable } from '../../http/unavailable.js';
import type { CorsPolicy } from './cors.js';

/** The API version supabase-js announces; errors then use the `{code, message}` body. */
export const API_VERSION_2024 = '2024-01-01';
const API_VERSION_2024_TIME = Date.parse(`${API_VERSION_2024}T00:00:00Z`);

const ALLOWED_HEADERS = 'Accept, Authorization, Content-Type, X-Client-IP, X-Client-Info, X-JWT-AUD, x-use-cookie, X-Supabase-Api-Version, apikey';
const EXPOSED_HEADERS = 'X-Total-Count, Link, X-Supabase-Api-Version';

/** Whether the request asked for the 2024-01-01 error format. */
function wantsModernErrors(request: FastifyRequest): boolean {
  const header = request.headers['x-supabase-api-version'];
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const time = Date.parse(`${value}T00:00:00Z`);
  return Number.isFinite(time) && time >= API_VERSION_2024_TIME;
}

/**
 * Writes an error as GoTrue does: `{"code":"<error_code>","message"}` and the echoed
 * `X-Supabase-Api-Version` header when the request announced 2024-01-01, otherwise the legacy
 * `{"code":<status>,"error_code","msg"}`; `x-sb-error-code` either way.
 */
export function sendIdentityError(request: FastifyRequest, reply: FastifyReply, error: IdentityError): FastifyReply {
  reply.header('x-sb-error-code', error.code);
  if (error instanceof RateLimitedError) reply.header('retry-after', String(error.retryAfter));
  if (wantsModernErrors(request)) {
    reply.header('x-supabase-api-version', API_VERSION_2024);
    return reply.code(error.status).send({ code: error.code, message: error.message, ...error.extra });
  }
  return reply.code(error.status).send({ code: error.status, error_code: error.code, msg: error.message, error_id: request.id, ...error.extra });
}

function toIdentityError(error: FastifyError): IdentityError {
  switch (error.code) {
    case 'ERR_UNSAFE_INPUT':
      return validationFailed(error.message);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new IdentityError(413, 'request_entity_too_large', 'Request body too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new IdentityError(400, 'bad_json', `Could not parse request body as JSON: ${error.message}`);
    default:
      return new IdentityError(400, 'validation_failed', error.message);
  }
}

/**
 * Sets up the `/auth/v1` scope: its own JSON body parser (malformed JSON → 400 `bad_json`; NUL,
 * unpaired surrogates or nesting deeper than 64 levels → 400 `validation_failed`), CORS for the
 * origins `cors` allows, GoTrue-format errors, and a JSON 404 for unknown routes. Never a 5xx for bad
 * input; 5xx bodies never carry internal detail.
 */
export function prepareScope(app: FastifyInstance, logger: Logger, cors: CorsPolicy): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, {});
    let parsed: unknown;
    try {
      parsed = parseJsonText(text);
    } catch (error) {
      if (error instanceof UnsafeInputError) return done(validationFailed(error.message), undefined);
      return done(new IdentityError(400, 'bad_json', `Could not parse request body as JSON: ${(error as Error).message}`), undefined);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return done(new IdentityError(400, 'bad_json', 'Could not parse request body as JSON: expected an object'), undefined);
    }
    done(null, parsed);
  });

  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin) return;
    reply.header('vary', 'Origin');
    const grant = cors(origin);
    if (grant === null) return;
    if (grant === 'credentials') {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-credentials', 'true');
    } else {
      reply.header('access-control-allow-origin', '*');
    }
    reply.header('access-control-expose-headers', EXPOSED_HEADERS);
  });
  app.options('/*', async (_request, reply) => {
    // Preflight headers only for allowed origins: the browser then refuses the actual request.
    if (reply.hasHeader('access-control-allow-origin')) {
      reply.header('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', '86400');
    }
    return reply.code(204).send();
  });

  app.setErrorHandler((error: FastifyError | IdentityError | OAuthError, request, reply) => {
    if (error instanceof IdentityError) {
      if (error.status >= 500) logger.error({ code: error.code, reason: error.message, path: request.routeOptions.url }, 'identity request failed');
      return sendIdentityError(request, reply, error);
    }
    if (error instanceof OAuthError) return reply.code(400).send({ error: error.error, error_description: error.message });
    if (isDatabaseUnavailable(error)) return sendIdentityError(request, markUnavailable(reply), new IdentityError(503, 'database_unavailable', DATABASE_UNAVAILABLE_MESSAGE));
    const status = (error).statusCode;
    if (status !== undefined && status >= 400 && status < 500) return sendIdentityError(request, reply, toIdentityError(error));
    // Only the message and code: driver errors carry the query parameters, which may hold secrets.
    const { message, code } = error as { message?: string; code?: string };
    logger.error({ error: { message, code }, path: request.routeOptions.url }, 'identity request failed');
    return sendIdentityError(request, reply, new IdentityError(500, 'unexpected_failure', 'Unexpected failure, please check server logs for more information'));
  });

  app.setNotFoundHandler((request, reply) => {
    sendIdentityError(request, reply, new IdentityError(404, 'not_found', `No route for ${request.method} ${request.url.split('?')[0]}`));
  });
}
