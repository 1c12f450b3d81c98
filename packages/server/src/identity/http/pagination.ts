import type { FastifyReply, FastifyRequest } from 'fastify';
import { validationFailed } from '../errors.js';

/** A page asked for with `page` (1-based, default 1) and `per_page` (default 50, at most 1000). */
export interface PageRequest {
  readonly page: number;
  readonly perPage: number;
}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw validationFailed(`Bad Pagination Parameters: ${name} must be a positive integer`);
  return Number(value);
}

/** Reads `page` / `per_page` as GoTrue does (400 `validation_failed` "Bad Pagination Parameters: …"). */
export function pageOf(query: { readonly page?: string | undefined; readonly per_page?: string | undefined }): PageRequest {
  return { page: positive(query.page, 1, 'page'), perPage: Math.min(positive(query.per_page, 50, 'per_page'), 1000) };
}

/**
 * Sets GoTrue's pagination headers: `X-Total-Count` and `Link` (`rel="next"` when there is a next page,
 * `rel="last"`), keeping the request's other query parameters in the links after `page` and `per_page`.
 */
export function setPageHeaders(request: FastifyRequest, reply: FastifyReply, page: PageRequest, total: number): void {
  const [path, search] = request.url.split('?') as [string, string | undefined];
  const keep = new URLSearchParams(search ?? '');
  keep.delete('page');
  keep.delete('per_page');
  // `page` first: supabase-js reads the page number from the link's first parameter.
  const rest = keep.size > 0 ? `&${keep.toString()}` : '';
  const link = (target: number) => `<${path}?page=${target}&per_page=${page.perPage}${rest}>`;
  const links: string[] = [];
  if (total > page.page * page.perPage) links.push(`${link(page.page + 1)}; rel="next"`);
  links.push(`${link(Math.max(1, Math.ceil(total / page.perPage)))}; rel="last"`);
  reply.header('x-total-count', String(total));
  reply.header('link', links.join(', '));
}
