import type { FastifyError } from 'fastify';
import { fastifyBearer } from '@latchkey/verify/fastify';
import { createRevocationFeed } from '@latchkey/verify/revocations';
import { renderDocsPage } from './docs-page.js';
import { ApiError, isDatabaseUnavailable } from './errors.js';
import type { NotesHost } from './host.js';
import { NOTES_MIGRATIONS, type NotesMigration } from './migrations.js';
import { registerNoteRoutes } from './notes/routes.js';
import { registerNoteRpc } from './notes/rpc.js';
import { NotesService } from './notes/service.js';
import { buildOpenApiDocument } from './openapi.js';
import { createApiVerifier } from './verifier.js';

/** Where the notes API is mounted unless told otherwise. */
export const NOTES_API_PREFIX = '/api/v1';

/** Seconds a client is told to wait (`Retry-After`) while the database is unreachable. */
const RETRY_AFTER_SECONDS = 1;

/** Options of {@link notesApi}. */
export interface NotesApiOptions {
  /** Path the API is served under. Default {@link NOTES_API_PREFIX}. */
  readonly prefix?: string;
}

/** The notes API once mounted. */
export interface MountedNotesApi {
  /** Path the API is served under. */
  readonly prefix: string;
  /** The API's logic, for callers in the same process. */
  readonly notes: NotesService;
  /** Lines for the start banner given the base URL. */
  banner(baseUrl: string): readonly string[];
  /** Stops following revocation events. */
  close(): Promise<void>;
}

/** The notes API as an app mounted into Latchkey: its name, its migrations and how to mount it. */
export interface NotesApi {
  readonly name: 'notes-api';
  /** The SQL creating `public.notes`, its row-level-security policies and grants; idempotent. */
  readonly migrations: readonly NotesMigration[];
  mount(host: NotesHost): Promise<MountedNotesApi>;
}

async function mount(host: NotesHost, prefix: string): Promise<MountedNotesApi> {
  const realtime = host.realtime;
  const notes = new NotesService(host.db, host.logger, realtime ? (channel, event) => realtime.publish(channel, event) : undefined);
  if (realtime) registerNoteRpc(realtime, notes);
  // Ended sessions: held in memory by the feed, so refusing a token costs no query.
  const revocations = createRevocationFeed({ source: host.revocationSource() });
  await revocations.ready;
  const verifier = createApiVerifier(host.tokens, revocations.check);
  const document = () => buildOpenApiDocument(host.publicUrl(), prefix, host.identityOpenApi?.());

  await host.app.register(
    async (scope) => {
      scope.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
        if (error instanceof ApiError) return reply.code(error.status).send(error.body);
        if (isDatabaseUnavailable(error)) {
          return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ error: 'temporarily_unavailable', error_description: 'The database is unreachable; retry shortly' });
        }
        if (error.validation || (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)) {
          return reply.code(error.statusCode ?? 400).send({ error: 'invalid_request', error_description: error.message });
        }
        request.log.error({ err: error }, 'api request failed');
        return reply.code(500).send({ error: 'internal_error', error_description: 'Internal server error' });
      });
      scope.setNotFoundHandler((request, reply) => {
        reply.code(404).send({ error: 'not_found', error_description: `No route for ${request.method} ${request.url.split('?')[0]}` });
      });
      scope.get('/openapi.json', async () => document());
      scope.get('/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').send(renderDocsPage(document(), `${prefix}/openapi.json`)));
      await scope.register(async (secured) => {
        await secured.register(fastifyBearer, { verifier, realm: 'latchkey' });
        registerNoteRoutes(secured, notes);
      });
    },
    { prefix },
  );

  return {
    prefix,
    notes,
    banner: (base) => [`api       ${base}${prefix}  (docs ${base}${prefix}/docs)`],
    close: () => revocations.close(),
  };
}

/**
 * The example notes API: organization-scoped notes under `/api/v1`, bearer-protected with
 * `@latchkey/verify`, every query through `withClaims` so PostgreSQL row-level security isolates
 * organizations. Changes are published on the realtime channel `org:<organization_id>`;
 * `query.note.list` and `command.note.create` are its RPC methods.
 *
 * @example
 * ```ts
 * import { startServer } from '@latchkey/server';
 * import { notesApi } from '@latchkey/example-notes-api';
 * const server = await startServer({ extensions: [notesApi()] });
 * ```
 */
export function notesApi(options: NotesApiOptions = {}): NotesApi {
  const prefix = options.prefix ?? NOTES_API_PREFIX;
  return { name: 'notes-api', migrations: NOTES_MIGRATIONS, mount: (host) => mount(host, prefix) };
}
