import type { FastifyInstance } from 'fastify';
import { outboxJson, readOutbox } from '../../mail/index.js';
import { readSmsOutbox, smsOutboxJson } from '../../sms/index.js';
import { validationFailed } from '../errors.js';
import { requireAdmin } from '../http/authenticate.js';
import type { IdentityRuntime } from '../runtime.js';

/**
 * `GET /admin/outbox[?email=&limit=]`: the development outbox (mail kept instead of sent when no SMTP
 * server is configured), newest first, for admins: `{"messages":[{id,to,subject,text,html,created_at}]}`.
 * `GET /admin/sms[?phone=&limit=]`: the text messages kept instead of sent when no SMS provider is
 * configured: `{"messages":[{id,to,body,channel,created_at}]}`.
 */
export function registerOutboxRoutes(app: FastifyInstance, runtime: IdentityRuntime): void {
  app.register(async (admin) => {
    admin.addHook('preHandler', async (request) => {
      await requireAdmin(runtime, request);
    });
    admin.get<{ Querystring: { email?: string; limit?: string } }>('/admin/outbox', async (request) => {
      const { email, limit } = request.query;
      if (limit !== undefined && !/^\d{1,4}$/.test(limit)) throw validationFailed('limit must be a whole number from 1 to 1000');
      const rows = await readOutbox(runtime.db, { ...(email ? { recipient: email } : {}), ...(limit ? { limit: Number(limit) } : {}) });
      return { messages: rows.map(outboxJson) };
    });
    admin.get<{ Querystring: { phone?: string; limit?: string } }>('/admin/sms', async (request) => {
      const { phone, limit } = request.query;
      if (limit !== undefined && !/^\d{1,4}$/.test(limit)) throw validationFailed('limit must be a whole number from 1 to 1000');
      const rows = await readSmsOutbox(runtime.db, { ...(phone ? { recipient: phone } : {}), ...(limit ? { limit: Number(limit) } : {}) });
      return { messages: rows.map(smsOutboxJson) };
    });
  });
}
