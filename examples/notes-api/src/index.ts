/**
 * The example notes API: how an app team puts an API behind Latchkey with the published packages
 * only — bearer verification via JWKS and RFC 6750 errors (`@latchkey/verify/fastify`), tokens of
 * ended sessions refused (`@latchkey/verify/revocations`), and PostgreSQL row-level security keyed on
 * the token's claims (`withClaims`).
 *
 * @module
 */
export { notesApi, NOTES_API_PREFIX, type MountedNotesApi, type NotesApi, type NotesApiOptions } from './extension.js';
export type { ConnectionClaims, NotesHost, NotesLogger, NotesRealtime, TokenSettings } from './host.js';
export { NOTES_MIGRATIONS, type NotesMigration } from './migrations.js';
export { NotesService, type NoteEvent, type NotePublisher } from './notes/service.js';
export type { NoteJson, NewNote, NotePatch } from './notes/schemas.js';
export { buildOpenApiDocument, type OpenApiDocument } from './openapi.js';
export { ApiError, type ApiErrorCode } from './errors.js';
