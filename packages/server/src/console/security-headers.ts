import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The Content-Security-Policy of the pages: scripts, styles and connections only to this origin (the
 * WebSocket of the gateway included), no inline script or style, no framing, no plugins.
 */
export function contentSecurityPolicy(request: FastifyRequest): string {
  const host = request.host;
  const secure = request.protocol === 'https';
  const socket = /^[A-Za-z0-9.:[\]-]+$/.test(host) ? ` ${secure ? 'wss' : 'ws'}://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${socket}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Sends `html` as a page: strict CSP, never cached, never framed, no referrer. */
export function sendPage(request: FastifyRequest, reply: FastifyReply, html: string): FastifyReply {
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', contentSecurityPolicy(request))
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .send(html);
}

export function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
