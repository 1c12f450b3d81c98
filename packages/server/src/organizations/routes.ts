import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdentityError, type IdentityExports } from '../identity/index.js';
import type { OrganizationStore } from './store.js';
import { ORGANIZATION_ROLES, type Actor } from './types.js';

const UUID = z.uuid();
const CREATE_BODY = z.object({ name: z.string().trim().min(1).max(200), owner_id: UUID.optional() });
const UPDATE_MEMBER_BODY = z.object({ role: z.enum(ORGANIZATION_ROLES) });

/** Parses a body with `schema`; 400 `validation_failed` naming the first problem. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new IdentityError(400, 'validation_failed', `${where}${issue?.message ?? 'invalid request'}`);
  }
  return result.data;
}

/** The `{id}` of the path; a malformed one answers like an unknown organization (404). */
export function organizationId(request: FastifyRequest<{ Params: { id: string } }>): string {
  const id = request.params.id;
  // A malformed id can name no organization: the same answer as an unknown one.
  if (!UUID.safeParse(id).success) throw new IdentityError(404, 'organization_not_found', 'Organization not found');
  return id;
}

function memberId(request: FastifyRequest<{ Params: { id: string; userId: string } }>): string {
  if (!UUID.safeParse(request.params.userId).success) throw new IdentityError(404, 'member_not_found', 'Member not found');
  return request.params.userId;
}

/** Who the request acts as: the service role (key or admin-role token), else the signed-in user. */
export async function requestActor(identity: IdentityExports, request: FastifyRequest): Promise<Actor> {
  const actor = await identity.requireActor(request);
  return actor.kind === 'service' ? { kind: 'service' } : { kind: 'user', userId: actor.user.id };
}

/**
 * Routes under `/auth/v1/organizations`. A user token acts for that user; the service role (key or a
 * token with an admin role) acts on any organization.
 */
export function registerOrganizationRoutes(app: FastifyInstance, { identity, store }: { identity: IdentityExports; store: OrganizationStore }): void {
  const actorOf = (request: FastifyRequest) => requestActor(identity, request);

  app.post('/', async (request, reply) => {
    const actor = await actorOf(request);
    const body = parse(CREATE_BODY, request.body);
    const ownerId = actor.kind === 'user' ? actor.userId : body.owner_id;
    if (!ownerId) throw new IdentityError(400, 'validation_failed', 'owner_id: required when acting as the service role');
    return reply.code(201).send(await store.create(ownerId, body.name));
  });

  app.get('/', async (request) => store.list(await actorOf(request)));

  app.post<{ Params: { id: string } }>('/:id/switch', async (request) => {
    const { user } = await identity.requireUser(request);
    const target = organizationId(request);
    return identity.issueSession(user.id, {
      method: 'token_refresh',
      client: identity.clientFacts(request),
      // The claims hook then puts the chosen organization into the new session's token.
      onSessionStarted: async (tx, sessionId) => {
        if (!(await store.isMember(tx, target, user.id))) throw new IdentityError(404, 'organization_not_found', 'Organization not found');
        await store.chooseForSession(tx, sessionId, target);
      },
    });
  });

  app.get<{ Params: { id: string } }>('/:id/members', async (request) => store.members(await actorOf(request), organizationId(request)));

  app.patch<{ Params: { id: string; userId: string } }>('/:id/members/:userId', async (request) => {
    const actor = await actorOf(request);
    const body = parse(UPDATE_MEMBER_BODY, request.body);
    return store.updateMember(actor, organizationId(request), memberId(request), body.role);
  });

  app.delete<{ Params: { id: string } }>('/:id', async (request, reply) => {
    await store.delete(await actorOf(request), organizationId(request));
    return reply.code(204).send();
  });

  app.delete<{ Params: { id: string; userId: string } }>('/:id/members/:userId', async (request, reply) => {
    await store.removeMember(await actorOf(request), organizationId(request), memberId(request));
    return reply.code(204).send();
  });
}
