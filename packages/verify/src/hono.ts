/**
 * Hono adapter: `honoBearer(options)` middleware. Sets `c.get('claims')`; failures are answered per
 * RFC 6750. Hono is an optional peer dependency: only its types are imported here.
 *
 * @module
 */
import type { MiddlewareHandler } from 'hono';
import { authenticateFast, BearerError, checkBearerOptions, type BearerOptions } from './http/bearer.js';
import type { Claims } from './jwt/claims.js';

/** Variables the middleware sets, for `new Hono<BearerEnv>()`. */
export interface BearerEnv {
  Variables: { claims: Claims };
}

/** Options of the Hono adapter. */
export type HonoBearerOptions = BearerOptions;

/**
 * Middleware requiring a valid bearer token.
 *
 * @example
 * ```ts
 * const app = new Hono<BearerEnv>();
 * app.use('/api/*', honoBearer({ verifier }));
 * app.get('/api/me', (c) => c.json(c.get('claims')));
 * ```
 */
export function honoBearer(options: HonoBearerOptions): MiddlewareHandler<BearerEnv> {
  checkBearerOptions(options);
  return async function latchkeyBearer(c, next) {
    let claims: Claims;
    try {
      claims = await authenticateFast(c.req.raw.headers, options);
    } catch (error) {
      if (!(error instanceof BearerError)) throw error;
      return c.json(error.body, error.status, error.headers);
    }
    c.set('claims', claims);
    await next();
    return undefined;
  };
}

export { authenticate, BearerError, type BearerOptions } from './http/bearer.js';
