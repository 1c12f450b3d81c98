import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { BrokerStatus } from '../cluster/index.js';
import type { Database } from '../db/index.js';
import { createInputSafety, DEFAULT_BODY_LIMIT } from '../input/index.js';
import type { Logger } from '../logging/logger.js';
import { registerHealthRoute } from './health.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable, markUnavailable } from './unavailable.js';
import { createMetrics, registerMetrics } from './metrics.js';
import { httpsServerFactory, type TlsMaterial } from './tls.js';

/** Longest path parameter routed (longer → 414); no route has a regular-expression parameter. */
const MAX_PATH_PARAM_LENGTH = 8 * 1024;

export interface AppOptions {
  readonly db: Database;
  readonly logger: Logger;
  /** Trust `X-Forwarded-For` from proxies. Default false. */
  readonly trustProxy?: boolean;
  /** Serve HTTPS (and WSS) with this certificate and key. Default: plain HTTP. */
  readonly tls?: TlsMaterial | undefined;
  /** The broker `/health` reports on. Default: none reported. */
  readonly broker?: { readonly kind: 'memory' | 'redis'; status(): BrokerStatus };
}

/**
 * The bare HTTP application: health, metrics, JSON errors, and the input guard of every route (bodies of
 * at most 1 MiB, JSON nested at most 64 levels, no NUL or unpaired surrogates: see `createInputSafety`).
 * Services are mounted on it by `startServer`. Errors never carry a stack trace; 5xx bodies never carry the internal message.
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const input = createInputSafety();
  const app = Fastify<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    bodyLimit: DEFAULT_BODY_LIMIT,
    rewriteUrl: input.rewriteUrl,
    // Long path parameters reach their route (which refuses an unknown id in its own error shape)
    // instead of the router's bare 414; the request line is bounded by the HTTP header limit anyway.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
    ...(options.tls ? { serverFactory: httpsServerFactory(options.tls) } : {}),
  });
  // Before any service is mounted, so every scope inherits the guard.
  input.register(app);

  // While shutting down, answers carry `Connection: close` and idle keep-alive sockets are dropped as
  // soon as their last request ends, so close() waits only for requests, never for idle clients.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
    if (!options.logger.isLevelEnabled('info')) return;
    request.log.info({ req: request, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isDatabaseUnavailable(error)) return markUnavailable(reply).send({ error: 'database_unavailable', message: DATABASE_UNAVAILABLE_MESSAGE });
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ error: 'internal_error', message: 'Internal server error' });
    }
    return reply.code(status).send({ error: error.code ?? 'bad_request', message: error.message });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', message: `No route for ${request.method} ${request.url.split('?')[0]}` });
  });

  registerHealthRoute(app, options.db, options.broker);
  registerMetrics(app, createMetrics());
  return app;
}
