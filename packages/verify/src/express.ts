/**
 * Express adapter: `expressBearer(options)` middleware. Sets `req.claims` (and `res.locals.claims`);
 * failures are answered per RFC 6750. Express is an optional peer dependency: only its types are
 * imported here.
 *
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { authenticateFast, BearerError, checkBearerOptions, type BearerOptions } from './http/bearer.js';
import type { Claims } from './jwt/claims.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Claims of the verified bearer token (set by `expressBearer`). */
      claims?: Claims;
    }
  }
}

/** Options of the Express adapter. */
export type ExpressBearerOptions = BearerOptions;

/**
 * Middleware requiring a valid bearer token.
 *
 * @example
 * ```ts
 * app.get('/me', expressBearer({ verifier }), (req, res) => res.json(req.claims));
 * ```
 */
export function expressBearer(options: ExpressBearerOptions): RequestHandler {
  checkBearerOptions(options);
  return function latchkeyBearer(req: Request, res: Response, next: NextFunction): void {
    const accept = (claims: Claims): void => {
      req.claims = claims;
      res.locals.claims = claims;
      next();
    };
    const fail = (error: unknown): void => {
      if (error instanceof BearerError) res.status(error.status).set(error.headers).json(error.body);
      else next(error);
    };
    let result: Claims | Promise<Claims>;
    try {
      result = authenticateFast(req.headers, options);
    } catch (error) {
      fail(error);
      return;
    }
    if (result instanceof Promise) result.then(accept, fail);
    else accept(result);
  };
}

export { authenticate, BearerError, type BearerOptions } from './http/bearer.js';
