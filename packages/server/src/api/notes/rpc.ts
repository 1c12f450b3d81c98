import type { Claims } from '@latchkey/verify';
import type { GatewayExports } from '../../gateway/index.js';
import { RpcError } from '../../gateway/rpc/errors.js';
import { ApiError } from '../errors.js';
import type { NotesService } from './service.js';

/** Maps the API's errors to realtime RPC errors the client can tell apart (codes ≥ 400 are the app's own). */
function toRpcError(error: unknown): never {
  if (error instanceof ApiError) throw new RpcError(error.status, error.message);
  throw error;
}

/**
 * The notes API over the realtime gateway: `query.note.list` → `{ notes }` and
 * `command.note.create` (`{ title, body? }`) → the note.
 */
export function registerNoteRpc(gateway: GatewayExports, notes: NotesService): void {
  gateway.registerRpc<{ limit?: number } | undefined, unknown>('query.note.list', async (data, { claims }) => {
    if (!claims) throw new RpcError(403, 'authentication required');
    const limit = typeof data?.limit === 'number' && Number.isInteger(data.limit) && data.limit > 0 ? Math.min(data.limit, 500) : 100;
    return { notes: await notes.list(claims as Claims, limit).catch(toRpcError) };
  });

  gateway.registerRpc<{ title?: unknown; body?: unknown } | undefined, unknown>('command.note.create', async (data, { claims }) => {
    if (!claims) throw new RpcError(403, 'authentication required');
    const title = data?.title;
    const body = data?.body;
    if (typeof title !== 'string' || title.length < 1 || title.length > 500) throw new RpcError(400, 'title must be a string of 1 to 500 characters');
    if (body !== undefined && (typeof body !== 'string' || body.length > 100_000)) throw new RpcError(400, 'body must be a string of at most 100000 characters');
    return notes.create(claims as Claims, { title, ...(body !== undefined ? { body } : {}) }).catch(toRpcError);
  });
}
