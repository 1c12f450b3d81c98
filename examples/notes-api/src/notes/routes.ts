import type { FastifyInstance } from 'fastify';
import type { Claims } from '@latchkey/verify';
import { API_ERROR, LIST_QUERY, NEW_NOTE, NOTE, NOTE_ID_PARAMS, NOTE_LIST, NOTE_PATCH, type NewNote, type NotePatch } from './schemas.js';
import type { NotesService } from './service.js';

const AUTH_ERRORS = { 400: API_ERROR, 401: API_ERROR, 403: API_ERROR, 404: API_ERROR };

/** `request.claims` is set by the bearer plugin of the enclosing scope. */
function claimsOf(request: { claims: Claims | null }): Claims {
  if (!request.claims) throw new Error('route reached without authentication');
  return request.claims;
}

/** `GET/POST /notes`, `GET/PATCH/DELETE /notes/{id}` in a scope that requires a bearer token. */
export function registerNoteRoutes(app: FastifyInstance, notes: NotesService): void {
  app.get<{ Querystring: { limit: number } }>(
    '/notes',
    { schema: { querystring: LIST_QUERY, response: { 200: NOTE_LIST, ...AUTH_ERRORS } } },
    async (request) => ({ notes: await notes.list(claimsOf(request), request.query.limit) }),
  );

  app.post<{ Body: NewNote }>(
    '/notes',
    { schema: { body: NEW_NOTE, response: { 201: NOTE, ...AUTH_ERRORS } } },
    async (request, reply) => reply.code(201).send(await notes.create(claimsOf(request), request.body)),
  );

  app.get<{ Params: { id: string } }>(
    '/notes/:id',
    { schema: { params: NOTE_ID_PARAMS, response: { 200: NOTE, ...AUTH_ERRORS } } },
    async (request) => notes.get(claimsOf(request), request.params.id),
  );

  app.patch<{ Params: { id: string }; Body: NotePatch }>(
    '/notes/:id',
    { schema: { params: NOTE_ID_PARAMS, body: NOTE_PATCH, response: { 200: NOTE, ...AUTH_ERRORS } } },
    async (request) => notes.update(claimsOf(request), request.params.id, request.body),
  );

  app.delete<{ Params: { id: string } }>(
    '/notes/:id',
    { schema: { params: NOTE_ID_PARAMS, response: { 204: { type: 'null' }, ...AUTH_ERRORS } } },
    async (request, reply) => {
      await notes.remove(claimsOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}
