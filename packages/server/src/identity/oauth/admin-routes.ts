import type { FastifyInstance } from 'fastify';
import { IdentityError, validationFailed } from '../errors.js';
import { requireAdmin } from '../http/authenticate.js';
import { bodyOf, optionalString } from '../http/request.js';
import type { IdentityRuntime } from '../runtime.js';
import { isUniqueViolation, isUuid } from '../users.js';
import { SCOPE_TOKEN, clientJson, createOAuthClient, deleteOAuthClient, listOAuthClients } from './clients.js';

/** `scopes` as an array of scope tokens or one space-separated string. */
function scopesOf(body: Record<string, unknown>): string[] {
  const value = body.scopes ?? body.scope;
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? value.split(' ').filter((part) => part !== '') : value;
  if (!Array.isArray(list) || !list.every((scope): scope is string => typeof scope === 'string' && SCOPE_TOKEN.test(scope))) {
    throw validationFailed('scopes must be an array of scope tokens (printable ASCII, no spaces, quotes or backslashes)');
  }
  return list;
}

/**
 * The OAuth clients admin API: `POST /admin/oauth/clients` (`{client_name, scopes?, organization_id?}`
 * → the client with its `client_secret`, shown this once), `GET /admin/oauth/clients` (`{clients}`),
 * `DELETE /admin/oauth/clients/{client_id}` (the deleted client).
 */
export function registerOAuthClientAdminRoutes(app: FastifyInstance, runtime: IdentityRuntime): void {
  app.register(async (admin) => {
    admin.addHook('preHandler', async (request) => {
      await requireAdmin(runtime, request);
    });

    admin.post('/admin/oauth/clients', async (request, reply) => {
      const body = bodyOf(request);
      const name = (optionalString(body, 'client_name') ?? optionalString(body, 'name') ?? '').trim();
      if (name === '' || name.length > 200) throw validationFailed('client_name is required (1 to 200 characters)');
      const scopes = scopesOf(body);
      const organizationId = optionalString(body, 'organization_id') ?? null;
      if (organizationId !== null && !isUuid(organizationId)) throw validationFailed('organization_id must be an UUID');
      try {
        const { row, secret } = await createOAuthClient(runtime.db, { name, scopes, organizationId: organizationId?.toLowerCase() ?? null });
        return reply.code(201).header('cache-control', 'no-store').send(clientJson(row, secret));
      } catch (error) {
        if ((error as { code?: string }).code === '23503') throw new IdentityError(404, 'organization_not_found', 'Organization not found');
        if (isUniqueViolation(error)) throw new IdentityError(409, 'conflict', 'Client id collision, try again');
        throw error;
      }
    });

    admin.get('/admin/oauth/clients', async () => ({ clients: (await listOAuthClients(runtime.db)).map((row) => clientJson(row)) }));

    admin.delete<{ Params: { id: string } }>('/admin/oauth/clients/:id', async (request) => {
      const row = await deleteOAuthClient(runtime.db, request.params.id, runtime.revocations);
      if (!row) throw new IdentityError(404, 'oauth_client_not_found', 'OAuth client not found');
      return clientJson(row);
    });
  });
}
