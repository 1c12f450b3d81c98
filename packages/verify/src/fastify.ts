/**
 * Fastify adapter: `fastifyBearer` plugin (applies to the routes of the scope it is registered in)
 * and `bearerHook` for single routes. Sets `request.claims`; failures are answered per RFC 6750
 * (see `@latchkey/verify` `authenticate`). Fastify is an optional peer dependency: only its types are
 * imported here.
 *
 * @module
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { authenticateFast, BearerError, checkBearerOptions, type BearerOptions } from './http/bearer.js';
import type { Claims } from './jwt/claims.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Claims of the verified bearer token; `null` on routes without authentication. */
    claims: Claims | null;
  }
}

/** Options of the Fastify adapter. */
export type FastifyBearerOptions = BearerOptions;

/**
 * A hook (use as `onRequest` or `preHandler`) that authenticates the request and sets
 * `request.claims`, or answers 400/401/403/503 itself.
 *
 * @example
 * ```ts
 * app.get('/me', { onRequest: bearerHook({ verifier }) }, (request) => request.claims);
 * ```
 */
export function bearerHook(options: FastifyBearerOptions): (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => void {
  checkBearerOptions(options);
  // Callback style on purpose: a token answered from memory costs no promise and no closure.
  return function latchkeyBearer(request, reply, done) {
    let result: Claims | Promise<Claims>;
    try {
      result = authenticateFast(request.headers, options);
    } catch (error) {
      refuse(error, reply, done);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (claims) => {
          request.claims = claims;
          done();
        },
        (error: unknown) => refuse(error, reply, done),
      );
      return;
    }
    request.claims = result;
    done();
  };
}

function refuse(error: unknown, reply: FastifyReply, done: (error?: Error) => void): void {
  if (error instanceof BearerError) void reply.code(error.status).headers(error.headers).send(error.body);
  else done(error instanceof Error ? error : new Error(String(error)));
}

/**
 * Plugin: every route of the scope it is registered in requires a valid bearer token (sibling and
 * parent scopes stay open).
 *
 * @example
 * ```ts
 * await app.register(async (api) => {
 *   await api.register(fastifyBearer, { verifier, scopes: ['notes:read'] });
 *   api.get('/notes', async (request) => listNotes(request.claims!.sub));
 * });
 * ```
 */
export const fastifyBearer: FastifyPluginAsync<FastifyBearerOptions> = async (app, options) => {
  const hook = bearerHook(options);
  if (!app.hasRequestDecorator('claims')) app.decorateRequest('claims', null);
  app.addHook('onRequest', hook);
};
// Like fastify-plugin: the hook applies to the registering scope, not to a child of it.
Object.assign(fastifyBearer, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'latchkey-bearer' });

export { authenticate, BearerError, type BearerOptions } from './http/bearer.js';
