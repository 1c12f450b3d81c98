import { withClaims, type Claims } from '@latchkey/verify';
import type { ClaimsDatabase } from '@latchkey/verify';
import type { NotesLogger } from '../host.js';
import { ApiError, isForeignKeyViolation, isRowSecurityViolation } from '../errors.js';
import { notesRepository as repo } from './repository.js';
import type { NewNote, NoteJson, NotePatch } from './schemas.js';

/** Publishes a change to the organization's realtime channel. */
export type NotePublisher = (channel: string, event: NoteEvent) => Promise<void>;

/** What subscribers of `org:<organization_id>` receive for each change. */
export interface NoteEvent {
  readonly type: 'note.created' | 'note.updated' | 'note.deleted';
  readonly note: NoteJson;
}

function organizationOf(claims: Claims): string | null {
  const metadata = claims.app_metadata;
  if (typeof metadata !== 'object' || metadata === null) return null;
  const id = (metadata as Record<string, unknown>).organization_id;
  return typeof id === 'string' && id !== '' ? id : null;
}

const notFound = () => new ApiError(404, 'not_found', 'Note not found');

/**
 * The notes API's logic, shared by the HTTP routes and the realtime RPC methods. Every query runs
 * through `withClaims`, so row-level security decides what the caller may see and change.
 */
export class NotesService {
  readonly #db: ClaimsDatabase;
  readonly #publish: NotePublisher | undefined;
  readonly #logger: NotesLogger;

  constructor(db: ClaimsDatabase, logger: NotesLogger, publish?: NotePublisher) {
    this.#db = db;
    this.#logger = logger;
    this.#publish = publish;
  }

  list(claims: Claims, limit = 100): Promise<NoteJson[]> {
    return withClaims(this.#db, claims, (tx) => repo.list(tx, limit));
  }

  async get(claims: Claims, id: string): Promise<NoteJson> {
    const note = await withClaims(this.#db, claims, (tx) => repo.get(tx, id));
    if (!note) throw notFound();
    return note;
  }

  async create(claims: Claims, input: NewNote): Promise<NoteJson> {
    const isService = claims.role === 'service_role';
    const organizationId = isService ? input.organization_id : organizationOf(claims);
    if (!organizationId) {
      throw isService
        ? new ApiError(400, 'invalid_request', 'organization_id is required when acting as the service role')
        : new ApiError(403, 'no_organization', 'The token carries no organization; create or switch to one first');
    }
    if (!isService && input.organization_id !== undefined && input.organization_id !== organizationId) {
      throw new ApiError(403, 'insufficient_scope', 'Notes can only be written to the organization of the token');
    }
    const authorId = !isService && typeof claims.sub === 'string' ? claims.sub : null;
    let note: NoteJson;
    try {
      note = await withClaims(this.#db, claims, (tx) => repo.create(tx, organizationId, authorId, input));
    } catch (error) {
      if (isRowSecurityViolation(error)) throw new ApiError(403, 'insufficient_scope', 'Not a member of this organization');
      if (isForeignKeyViolation(error)) throw new ApiError(400, 'invalid_request', 'No such organization');
      throw error;
    }
    await this.#announce('note.created', note);
    return note;
  }

  async update(claims: Claims, id: string, patch: NotePatch): Promise<NoteJson> {
    let note: NoteJson | null;
    try {
      note = await withClaims(this.#db, claims, (tx) => repo.update(tx, id, patch));
    } catch (error) {
      if (isRowSecurityViolation(error)) throw new ApiError(403, 'insufficient_scope', 'Not allowed to change this note');
      throw error;
    }
    if (!note) throw notFound();
    await this.#announce('note.updated', note);
    return note;
  }

  async remove(claims: Claims, id: string): Promise<void> {
    const removed = await withClaims(this.#db, claims, async (tx) => {
      const note = await repo.get(tx, id);
      if (!note) throw notFound();
      if ((await repo.remove(tx, id)) === 0) throw new ApiError(403, 'insufficient_scope', 'Only owners and admins can delete notes');
      return note;
    });
    await this.#announce('note.deleted', removed);
  }

  async #announce(type: NoteEvent['type'], note: NoteJson): Promise<void> {
    if (!this.#publish) return;
    try {
      await this.#publish(`org:${note.organization_id}`, { type, note });
    } catch (error) {
      // The change is committed; a failed broadcast must not turn it into an error for the writer.
      this.#logger.warn({ reason: error instanceof Error ? error.message : String(error), type }, 'could not publish note change');
    }
  }
}
