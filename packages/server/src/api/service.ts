import type { FastifyError, FastifyInstance } from 'fastify';
import { fastifyBearer } from '@latchkey/verify/fastify';
import { createRevocationFeed, inProcessRevocationSource } from '@latchkey/verify/revocations';
import type { GatewayExports } from '../gateway/index.js';
import type { AppContext, MountedService } from '../http/context.js';
import type { IdentityExports } from '../identity/index.js';
import { renderDocsPage } from './docs-page.js';
import { ApiError } from './errors.js';
import { registerNoteRoutes } from './notes/routes.js';
import { registerNoteRpc } from './notes/rpc.js';
import { NotesService } from './notes/service.js';
import { buildOpenApiDocument } from './openapi.js';
import { createApiVerifier } from './verifier.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable, markUnavailable } from '../http/unavailable.js';

/** Where the example API is mounted. */
export const API_PREFIX = '/api/v1';

/** What the example API offers the services built after it. */
export interface ApiExports {
  readonly notes: NotesService;
}

/** What the example API is built on. */
export interface ApiDependencies {
  readonly identity: IdentityExports;
  /** Where changes are published and the notes RPC methods are registered; `null` when the gateway does not run. */
  readonly gateway: GatewayExports | null;
}

/**
 * The example API: organization-scoped notes under `/api/v1`, bearer-protected, every query through
 * `withClaims` so PostgreSQL row-level security isolates organizations. Changes are published on the
 * gateway channel `org:<organization_id>`; `query.note.list` and `command.note.create` are its RPC methods.
 */
export async function mountApi(app: FastifyInstance, context: AppContext, { identity, gateway }: ApiDependencies): Promise<MountedService<ApiExports>> {
  const logger = context.logger.child({ service: 'api' });
  const notes = new NotesService(context.db, logger, gateway ? (channel, event) => gateway.publish(channel, event) : undefined);
  if (gateway) registerNoteRpc(gateway, notes);
  // Ended sessions: the events of this process's identity service (every node's, through the broker),
  // held in memory by the feed, so refusing a token costs no query.
  const revocations = createRevocationFeed({ source: inProcessRevocationSource(context.revocations) });
  await revocations.ready;
  const verifier = createApiVerifier(identity, revocations.check);

  await app.register(
    async (scope) => {
      scope.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
        if (error instanceof ApiError) return reply.code(error.status).send(error.body);
        if (isDatabaseUnavailable(error)) return markUnavailable(reply).send({ error: 'temporarily_unavailable', error_description: DATABASE_UNAVAILABLE_MESSAGE });
        if (error.validation || (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)) {
          return reply.code(error.statusCode ?? 400).send({ error: 'invalid_request', error_description: error.message });
        }
        request.log.error({ err: error }, 'api request failed');
        return reply.code(500).send({ error: 'internal_error', error_description: 'Internal server error' });
      });
      scope.setNotFoundHandler((request, reply) => {
        reply.code(404).send({ error: 'not_found', error_description: `No route for ${request.method} ${request.url.split('?')[0]}` });
      });
      scope.get('/openapi.json', async () => buildOpenApiDocument(context.publicUrl()));
      scope.get('/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').send(renderDocsPage(buildOpenApiDocument(context.publicUrl()))));
      await scope.register(async (secured) => {
        await secured.register(fastifyBearer, { verifier, realm: 'latchkey' });
        registerNoteRoutes(secured, notes);
      });
    },
    { prefix: API_PREFIX },
  );

  return {
    exports: { notes },
    banner: (base) => [`api       ${base}${API_PREFIX}  (docs ${base}${API_PREFIX}/docs)`],
    close: () => revocations.close(),
  };
}

