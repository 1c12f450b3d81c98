/** JSON Schemas of the notes resource: used for request validation and in the OpenAPI document. */

export const NOTE = {
  type: 'object',
  required: ['id', 'organization_id', 'author_id', 'title', 'body', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    organization_id: { type: 'string', format: 'uuid' },
    author_id: { type: ['string', 'null'], format: 'uuid' },
    title: { type: 'string', minLength: 1, maxLength: 500 },
    body: { type: 'string', maxLength: 100000 },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
  additionalProperties: false,
} as const;

export const NOTE_LIST = {
  type: 'object',
  required: ['notes'],
  properties: { notes: { type: 'array', items: NOTE } },
  additionalProperties: false,
} as const;

export const NEW_NOTE = {
  type: 'object',
  required: ['title'],
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 500 },
    body: { type: 'string', maxLength: 100000 },
    organization_id: { type: 'string', format: 'uuid', description: 'Only with the service role: the organization to write to.' },
  },
  additionalProperties: false,
} as const;

export const NOTE_PATCH = {
  type: 'object',
  minProperties: 1,
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 500 },
    body: { type: 'string', maxLength: 100000 },
  },
  additionalProperties: false,
} as const;

export const NOTE_ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;

export const LIST_QUERY = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
  additionalProperties: false,
} as const;

/** The error body of the example API (authentication errors follow RFC 6750 with the same fields). */
export const API_ERROR = {
  type: 'object',
  required: ['error', 'error_description'],
  properties: {
    error: { type: 'string', description: 'Stable error code' },
    error_description: { type: 'string' },
    code: { type: 'string' },
  },
} as const;

export interface NoteJson {
  readonly id: string;
  readonly organization_id: string;
  readonly author_id: string | null;
  readonly title: string;
  readonly body: string;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface NewNote {
  readonly title: string;
  readonly body?: string;
  readonly organization_id?: string;
}

export interface NotePatch {
  readonly title?: string;
  readonly body?: string;
}
