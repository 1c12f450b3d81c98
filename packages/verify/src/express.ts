/**
 * Express adapter: `expressBearer(options)` middleware. Sets `req.claims` (and `res.locals.claims`);
 * failures are answered per RFC 6750. Express is an optional peer dependency: only its types are
 * imported here.
 *
 * @module
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { authenticate, BearerError, checkBearerOptions, type BearerOptions } from './http/bearer.js';
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
    authenticate(req.headers, options).then(
      (claims) => {
        req.claims = claims;
        res.locals.claims = claims;
        next();
      },
      (error: unknown) => {
        if (!(error instanceof BearerError)) {
          next(error);
          return;
        }
        res.status(error.status).set(error.headers).json(error.body);
      },
    );
  };
}

export { authenticate, BearerError, type BearerOptions } from './http/bearer.js';
