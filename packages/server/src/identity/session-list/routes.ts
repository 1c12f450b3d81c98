import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RevocationEvent } from '../../revocation/types.js';
import { IdentityError, Messages, validationFailed } from '../errors.js';
import { requireAdmin, requireUser } from '../http/authenticate.js';
import type { IdentityRuntime } from '../runtime.js';
import { isUuid } from '../users.js';
import { findUserById } from '../store/users.js';
import { endSessions } from '../end-sessions.js';
import { listSessions } from './list.js';

/** The same answer for a session that does not exist and one of another user: existence is not revealed. */
const sessionNotFound = () => new IdentityError(404, 'not_found', 'Session not found');

function sessionIdOf(value: string): string {
  if (!isUuid(value)) throw sessionNotFound();
  return value.toLowerCase();
}

/** Ends the sessions in one transaction, then announces the event (so every node refuses their tokens). */
async function end(runtime: IdentityRuntime, userId: string, sessionId: string | null): Promise<RevocationEvent | null> {
  const event = await runtime.db.transaction((tx) =>
    endSessions(tx, runtime.revocations, { kind: 'session_revoked', userId, sessionIds: sessionId === null ? undefined : [sessionId] }),
  );
  if (event) await runtime.revocations.announce(event);
  return event;
}

async function adminUser(runtime: IdentityRuntime, request: FastifyRequest<{ Params: { id: string } }>): Promise<string> {
  if (!isUuid(request.params.id)) throw validationFailed('user_id must be an UUID');
  const user = await findUserById(runtime.db, request.params.id.toLowerCase());
  if (!user) throw new IdentityError(404, 'user_not_found', Messages.userNotFound);
  return user.id;
}

/**
 * The session list. A user: `GET /sessions` (their live sessions, `current` marking the caller's) and
 * `DELETE /sessions/{id}` (204; 404 `not_found` for an id that is not theirs). Admins:
 * `GET /admin/users/{id}/sessions`, `DELETE /admin/users/{id}/sessions/{session_id}` and
 * `DELETE /admin/users/{id}/sessions` (all). Ending a session deletes it with its refresh tokens and
 * records a `session_revoked` event, so its access tokens stop working everywhere.
 */
export function registerSessionListRoutes(app: FastifyInstance, runtime: IdentityRuntime): void {
  app.get('/sessions', async (request) => {
    const { user, sessionId } = await requireUser(runtime, request);
    return { sessions: await listSessions(runtime.db, runtime.settings, user.id, sessionId) };
  });

  app.delete<{ Params: { id: string } }>('/sessions/:id', async (request, reply) => {
    const { user } = await requireUser(runtime, request);
    if (!(await end(runtime, user.id, sessionIdOf(request.params.id)))) throw sessionNotFound();
    return reply.code(204).send();
  });

  app.register(async (admin) => {
    admin.addHook('preHandler', async (request) => {
      await requireAdmin(runtime, request);
    });

    admin.get<{ Params: { id: string } }>('/admin/users/:id/sessions', async (request) => ({
      sessions: await listSessions(runtime.db, runtime.settings, await adminUser(runtime, request), null),
    }));

    admin.delete<{ Params: { id: string } }>('/admin/users/:id/sessions', async (request, reply) => {
      await end(runtime, await adminUser(runtime, request), null);
      return reply.code(204).send();
    });

    admin.delete<{ Params: { id: string; session_id: string } }>('/admin/users/:id/sessions/:session_id', async (request, reply) => {
      const userId = await adminUser(runtime, request);
      if (!(await end(runtime, userId, sessionIdOf(request.params.session_id)))) throw sessionNotFound();
      return reply.code(204).send();
    });
  });
}
