export { mountApi, API_PREFIX, type ApiDependencies, type ApiExports } from './service.js';
export { NotesService, type NoteEvent, type NotePublisher } from './notes/service.js';
export type { NoteJson, NewNote, NotePatch } from './notes/schemas.js';
export { buildOpenApiDocument } from './openapi.js';
export { ApiError, type ApiErrorCode } from './errors.js';
