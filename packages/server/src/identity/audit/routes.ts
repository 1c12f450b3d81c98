import type { FastifyInstance } from 'fastify';
import { validationFailed } from '../errors.js';
import { requireAdmin } from '../http/authenticate.js';
import { pageOf, setPageHeaders } from '../http/pagination.js';
import type { IdentityRuntime } from '../runtime.js';
import { isUuid } from '../users.js';
import { AUDIT_LOG_TYPES, isAuditAction, type AuditLogType } from './actions.js';
import { readAuditLog, type AuditFilter } from '../store/audit.js';

interface AuditQuery {
  page?: string;
  per_page?: string;
  query?: string;
  user_id?: string;
  action?: string;
  since?: string;
  until?: string;
}

const LOG_TYPES = new Set<string>(Object.values(AUDIT_LOG_TYPES));

function instant(value: string | undefined, name: string): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(parsed.getTime())) throw validationFailed(`${name} must be an ISO 8601 date or time`);
  return parsed;
}

/** Builds the filter of `GET /admin/audit` from its query string (400 `validation_failed` when malformed). */
export function auditFilterOf(query: AuditQuery): AuditFilter {
  const filter: { -readonly [K in keyof AuditFilter]: AuditFilter[K] } = {};
  if (query.query !== undefined && query.query !== '') {
    // GoTrue's scoped search: `author:<text>`, `action:<text>`, `type:<log type>`.
    const colon = query.query.indexOf(':');
    const scope = colon < 0 ? query.query : query.query.slice(0, colon);
    const value = colon < 0 ? '' : query.query.slice(colon + 1);
    if (colon < 0 || !['author', 'action', 'type'].includes(scope)) throw validationFailed(`Invalid query scope: ${query.query}`);
    if (scope === 'author') filter.author = value;
    if (scope === 'action') {
      if (!isAuditAction(value)) throw validationFailed(`Unknown audit action: ${value}`);
      filter.action = value;
    }
    if (scope === 'type') {
      if (!LOG_TYPES.has(value)) throw validationFailed(`Unknown audit log type: ${value}`);
      filter.logType = value as AuditLogType;
    }
  }
  if (query.user_id !== undefined && query.user_id !== '') {
    if (!isUuid(query.user_id)) throw validationFailed('user_id must be an UUID');
    filter.userId = query.user_id.toLowerCase();
  }
  if (query.action !== undefined && query.action !== '') {
    if (!isAuditAction(query.action)) throw validationFailed(`Unknown audit action: ${query.action}`);
    filter.action = query.action;
  }
  const since = instant(query.since, 'since');
  const until = instant(query.until, 'until');
  if (since) filter.since = since;
  if (until) filter.until = until;
  return filter;
}

/**
 * `GET /admin/audit`: the audit log, newest first, as GoTrue answers it (a JSON array, `X-Total-Count`
 * and `Link` headers). Filters: GoTrue's `query=author:…|action:…|type:…`, and `user_id` (actor or
 * subject), `action`, `since`, `until` (ISO 8601). `page` (default 1), `per_page` (default 50, at most 1000).
 */
export function registerAuditRoutes(app: FastifyInstance, runtime: IdentityRuntime): void {
  app.get<{ Querystring: AuditQuery }>('/admin/audit', async (request, reply) => {
    await requireAdmin(runtime, request);
    const page = pageOf(request.query);
    const filter = auditFilterOf(request.query);
    const { entries, total } = await readAuditLog(runtime.db, filter, page.page, page.perPage);
    setPageHeaders(request, reply, page, total);
    return entries;
  });
}
