import type { FastifyReply } from 'fastify';
import { DatabaseUnavailableError } from '../db/index.js';

/** Seconds a client is told to wait (`Retry-After`) when the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 1;

/** The message every service answers with while the database is unreachable. */
export const DATABASE_UNAVAILABLE_MESSAGE = 'The database is unreachable; retry shortly';

/**
 * Whether a request failed because the database could not be reached (the connection was lost, the server
 * restarts, no connection could be had in time). Such requests answer 503 with `Retry-After`, never 500.
 */
export function isDatabaseUnavailable(error: unknown): error is DatabaseUnavailableError {
  return error instanceof DatabaseUnavailableError;
}

/** Sets 503 and `Retry-After` on `reply`; the caller sends the body in its service's error format. */
export function markUnavailable(reply: FastifyReply): FastifyReply {
  return reply.code(503).header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
}
