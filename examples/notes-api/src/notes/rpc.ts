import type { Claims } from '@latchkey/verify';
import type { NotesRealtime } from '../host.js';
import { ApiError } from '../errors.js';
import type { NotesService } from './service.js';

/**
 * The notes API over the realtime gateway: `query.note.list` → `{ notes }` and
 * `command.note.create` (`{ title, body? }`) → the note. The API's errors keep their HTTP status as
 * the RPC error code (codes ≥ 400 are the app's own).
 */
export function registerNoteRpc(realtime: NotesRealtime, notes: NotesService): void {
  const toRpcError = (error: unknown): never => {
    if (error instanceof ApiError) throw realtime.error(error.status, error.message);
    throw error;
  };
  const caller = (claims: Readonly<Record<string, unknown>> | null): Claims => {
    if (!claims) throw realtime.error(403, 'authentication required');
    return claims as Claims;
  };

  realtime.registerRpc('query.note.list', async (data, { claims }) => {
    const who = caller(claims);
    const requested = typeof data === 'object' && data !== null ? (data as { limit?: unknown }).limit : undefined;
    const limit = typeof requested === 'number' && Number.isInteger(requested) && requested > 0 ? Math.min(requested, 500) : 100;
    return { notes: await notes.list(who, limit).catch(toRpcError) };
  });

  realtime.registerRpc('command.note.create', async (data, { claims }) => {
    const who = caller(claims);
    const input = typeof data === 'object' && data !== null ? (data as { title?: unknown; body?: unknown }) : {};
    const { title, body } = input;
    if (typeof title !== 'string' || title.length < 1 || title.length > 500) throw realtime.error(400, 'title must be a string of 1 to 500 characters');
    if (body !== undefined && (typeof body !== 'string' || body.length > 100_000)) throw realtime.error(400, 'body must be a string of at most 100000 characters');
    return notes.create(who, { title, ...(body !== undefined ? { body } : {}) }).catch(toRpcError);
  });
}
