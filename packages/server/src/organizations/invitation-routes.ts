import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdentityError, type IdentityExports } from '../identity/index.js';
import type { Logger } from '../logging/logger.js';
import { composeInvitationMail } from './invitation-mail.js';
import type { Invitee, InvitationStore } from './invitations.js';
import { organizationId, parse, requestActor } from './routes.js';
import { ORGANIZATION_ROLES } from './types.js';

const UUID = z.uuid();
/** The answer's body: the secret token from the invitation mail. */
const ANSWER_BODY = z.object({ token: z.string().trim().min(1).max(256) });
const INVITE_BODY = z.object({ email: z.email().max(320), role: z.enum(ORGANIZATION_ROLES).default('member') });

/** What the invitation routes need. */
export interface InvitationRouteDependencies {
  readonly identity: IdentityExports;
  readonly invitations: InvitationStore;
  readonly logger: Logger;
  /** Where the application lives, named in the mail. */
  siteUrl(): string;
}

function invitationId(request: FastifyRequest<{ Params: { invitationId: string } }>): string {
  if (!UUID.safeParse(request.params.invitationId).success) throw new IdentityError(404, 'invitation_not_found', 'Invitation not found');
  return request.params.invitationId.toLowerCase();
}

/**
 * Under `/auth/v1/organizations` (owners and admins): `POST /{id}/invitations {email, role}` → 201 the
 * invitation, the same answer whether or not an account has the address, and a mail to it after the
 * answer; `GET /{id}/invitations` → pending invitations; `DELETE /{id}/invitations/{invitationId}` → 204.
 */
export function registerInvitationRoutes(app: FastifyInstance, deps: InvitationRouteDependencies): void {
  const { identity, invitations } = deps;

  app.post<{ Params: { id: string } }>('/:id/invitations', async (request, reply) => {
    const actor = await requestActor(identity, request);
    const body = parse(INVITE_BODY, request.body);
    const email = body.email.trim().toLowerCase();
    const created = await invitations.create(actor, organizationId(request), email, body.role);
    if (created.mailToken !== null) {
      const mail = composeInvitationMail({
        invitationId: created.invitation.id,
        token: created.mailToken,
        to: email,
        organizationName: created.organizationName,
        role: body.role,
        inviterEmail: created.inviterEmail,
        expiresAt: created.invitation.expires_at,
        siteUrl: deps.siteUrl(),
      });
      // After the answer, whatever the address: delivery time and failures never show in the answer.
      void identity.mailer.send(mail).catch((error: unknown) => {
        deps.logger.error({ reason: error instanceof Error ? error.message : String(error), kind: 'invitation' }, 'mail delivery failed');
      });
    }
    return reply.code(201).send(created.invitation);
  });

  app.get<{ Params: { id: string } }>('/:id/invitations', async (request) => invitations.list(await requestActor(identity, request), organizationId(request)));

  app.delete<{ Params: { id: string; invitationId: string } }>('/:id/invitations/:invitationId', async (request, reply) => {
    await invitations.revoke(await requestActor(identity, request), organizationId(request), invitationId(request));
    return reply.code(204).send();
  });
}

/**
 * Under `/auth/v1/invitations`, for the invitee with their own access token: `GET /` → `{invitations}`
 * addressed to their confirmed e-mail (id, organization name, role, expiry); `POST /{invitationId}/accept
 * {token}` → 200 the membership; `POST /{invitationId}/decline {token}` → 204. `token` is the secret from
 * the invitation mail; a wrong one answers 404 `invitation_not_found` like an unknown invitation.
 */
export function registerReceivedInvitationRoutes(app: FastifyInstance, { identity, invitations }: Pick<InvitationRouteDependencies, 'identity' | 'invitations'>): void {
  async function invitee(request: FastifyRequest): Promise<Invitee> {
    const { user } = await identity.requireUser(request);
    return { userId: user.id, email: user.email && user.email_confirmed_at ? user.email.toLowerCase() : null };
  }

  app.get('/', async (request) => ({ invitations: await invitations.received(await invitee(request)) }));

  app.post<{ Params: { invitationId: string } }>('/:invitationId/accept', async (request) => {
    const answerer = await invitee(request);
    return invitations.accept(answerer, invitationId(request), parse(ANSWER_BODY, request.body).token);
  });

  app.post<{ Params: { invitationId: string } }>('/:invitationId/decline', async (request, reply) => {
    const answerer = await invitee(request);
    await invitations.decline(answerer, invitationId(request), parse(ANSWER_BODY, request.body).token);
    return reply.code(204).send();
  });
}
