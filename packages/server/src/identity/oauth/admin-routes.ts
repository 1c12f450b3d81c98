import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IdentityError, validationFailed } from '../errors.js';
import { requireAdmin } from '../http/authenticate.js';
import { pageOf, setPageHeaders } from '../http/pagination.js';
import { bodyOf } from '../http/request.js';
import type { IdentityRuntime } from '../runtime.js';
import { isUniqueViolation } from '../users.js';
import { clientJson, createOAuthClient, deleteOAuthClient, findOAuthClient, listOAuthClients, regenerateOAuthClientSecret, updateOAuthClient, type ClientRow } from './clients.js';
import { clientChangesOf, newClientOf } from './registration.js';

function notFound(): IdentityError {
  return new IdentityError(404, 'oauth_client_not_found', 'OAuth client not found');
}

/**
 * The OAuth client admin API at GoTrue's routes and shapes (supabase-js `auth.admin.oauth.*`), over the
 * one client store that `latchkey clients` and the token endpoint's client credentials grant use:
 * `POST /admin/oauth/clients` (201, the secret shown this once), `GET /admin/oauth/clients` (`{clients}`,
 * `page`/`per_page` with `X-Total-Count` and `Link`), `GET|PUT|DELETE /admin/oauth/clients/{client_id}`
 * (delete: 204, ending the tokens the client was issued), and
 * `POST /admin/oauth/clients/{client_id}/regenerate_secret`. Unknown ids are 404 `oauth_client_not_found`.
 */
export function registerOAuthClientAdminRoutes(app: FastifyInstance, runtime: IdentityRuntime): void {
  app.register(async (admin) => {
    admin.addHook('preHandler', async (request) => {
      await requireAdmin(runtime, request);
    });
    const load = async (request: FastifyRequest<{ Params: { id: string } }>): Promise<ClientRow> => (await findOAuthClient(runtime.db, request.params.id)) ?? Promise.reject(notFound());

    admin.post('/admin/oauth/clients', async (request, reply) => {
      const client = newClientOf(bodyOf(request));
      try {
        const { row, secret } = await createOAuthClient(runtime.db, client);
        return reply.code(201).header('cache-control', 'no-store').send(clientJson(row, secret));
      } catch (error) {
        if ((error as { code?: string }).code === '23503') throw new IdentityError(404, 'organization_not_found', 'Organization not found');
        if (isUniqueViolation(error)) throw new IdentityError(409, 'conflict', 'Client id collision, try again');
        throw error;
      }
    });

    admin.get<{ Querystring: { page?: string; per_page?: string } }>('/admin/oauth/clients', async (request, reply) => {
      const page = pageOf(request.query);
      const { rows, total } = await listOAuthClients(runtime.db, page);
      setPageHeaders(request, reply, page, total);
      return { clients: rows.map((row) => clientJson(row)) };
    });

    admin.get<{ Params: { id: string } }>('/admin/oauth/clients/:id', async (request) => clientJson(await load(request)));

    admin.put<{ Params: { id: string } }>('/admin/oauth/clients/:id', async (request) => {
      const changes = clientChangesOf(bodyOf(request), await load(request));
      const row = await updateOAuthClient(runtime.db, request.params.id, changes);
      if (!row) throw notFound();
      return clientJson(row);
    });

    admin.post<{ Params: { id: string } }>('/admin/oauth/clients/:id/regenerate_secret', async (request, reply) => {
      const current = await load(request);
      if (current.client_type !== 'confidential') throw validationFailed('Cannot regenerate secret for public client');
      const regenerated = await regenerateOAuthClientSecret(runtime.db, current.id);
      if (!regenerated) throw notFound();
      return reply.header('cache-control', 'no-store').send(clientJson(regenerated.row, regenerated.secret));
    });

    admin.delete<{ Params: { id: string } }>('/admin/oauth/clients/:id', async (request, reply) => {
      const row = await deleteOAuthClient(runtime.db, request.params.id, runtime.revocations);
      if (!row) throw notFound();
      return reply.code(204).send();
    });
  });
}
