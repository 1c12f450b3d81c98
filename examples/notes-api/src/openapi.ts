import { API_ERROR, LIST_QUERY, NEW_NOTE, NOTE, NOTE_LIST, NOTE_PATCH } from './notes/schemas.js';

/** A JSON object of an OpenAPI document. */
export type OpenApiDocument = Record<string, unknown>;

const bearerError = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const json = (schema: OpenApiDocument, description: string) => ({ description, content: { 'application/json': { schema } } });

const noteId = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const limit = { name: 'limit', in: 'query', required: false, schema: LIST_QUERY.properties.limit };
const authFailures = { 400: bearerError('Malformed request or Authorization header'), 401: bearerError('Missing, invalid or expired token (RFC 6750)'), 403: bearerError('Not permitted') };

function objectAt(document: OpenApiDocument | undefined, key: string): OpenApiDocument {
  const value = document?.[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as OpenApiDocument) : {};
}

/**
 * The OpenAPI 3.1 document of the notes API mounted under `prefix`. `identity`, when given, is the
 * identity service's public document (organization endpoints): its paths and schemas are served
 * alongside, so one document describes every call the app's clients make. `serverUrl` is the
 * public base URL.
 */
export function buildOpenApiDocument(serverUrl: string, prefix: string, identity?: OpenApiDocument): OpenApiDocument {
  const identityComponents = objectAt(identity, 'components');
  return {
    openapi: '3.1.0',
    info: {
      title: identity ? 'Latchkey organizations and example API' : 'Latchkey example notes API',
      version: '0.1.0',
      description: `${identity ? 'Organizations live in the identity service under /auth/v1/organizations; the' : 'The'} example notes API under ${prefix} is protected by bearer tokens and isolated per organization by PostgreSQL row-level security. The service role key sees every organization.`,
    },
    servers: [{ url: serverUrl }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { ...objectAt(identityComponents, 'schemas'), Note: NOTE, NoteList: NOTE_LIST, NewNote: NEW_NOTE, NotePatch: NOTE_PATCH, Error: API_ERROR },
    },
    paths: {
      ...objectAt(identity, 'paths'),
      [`${prefix}/notes`]: {
        get: { operationId: 'listNotes', summary: 'Notes of the current organization', tags: ['notes'], parameters: [limit], responses: { 200: json({ $ref: '#/components/schemas/NoteList' }, 'Notes'), ...authFailures } },
        post: {
          operationId: 'createNote',
          summary: 'Create a note in the current organization',
          tags: ['notes'],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/NewNote' } } } },
          responses: { 201: json({ $ref: '#/components/schemas/Note' }, 'Created'), ...authFailures },
        },
      },
      [`${prefix}/notes/{id}`]: {
        get: { operationId: 'getNote', summary: 'One note', tags: ['notes'], parameters: [noteId], responses: { 200: json({ $ref: '#/components/schemas/Note' }, 'Note'), 404: bearerError('Not found (or in another organization)'), ...authFailures } },
        patch: {
          operationId: 'updateNote',
          summary: 'Change a note',
          tags: ['notes'],
          parameters: [noteId],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/NotePatch' } } } },
          responses: { 200: json({ $ref: '#/components/schemas/Note' }, 'Updated'), 404: bearerError('Not found'), ...authFailures },
        },
        delete: { operationId: 'deleteNote', summary: 'Delete a note (owners and admins)', tags: ['notes'], parameters: [noteId], responses: { 204: { description: 'Deleted' }, 404: bearerError('Not found'), ...authFailures } },
      },
    },
  };
}
