import { DatabaseUnavailableError } from './errors.js';

/** Socket-level failures of the connection to the database server. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * SQLSTATEs that mean the server went away or will not take work now: class 08 (connection exception),
 * 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 53300 too many connections.
 */
const SERVER_GONE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** Messages of `pg` for connections lost or never made (it gives them no code). */
const DRIVER_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /not queryable/i, /connection.*(closed|ended)/i];

/** Whether `error` says the database could not be reached (as opposed to a bad query or a constraint). */
export function isConnectionLoss(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (typeof error !== 'object' || error === null) return false;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : '';
  if (NETWORK_CODES.has(code) || SERVER_GONE_STATES.has(code) || code.startsWith('08')) return true;
  const message = error instanceof Error ? error.message : '';
  return code === '' && DRIVER_MESSAGES.some((pattern) => pattern.test(message));
}

/**
 * Rethrows a lost connection as {@link DatabaseUnavailableError} (requests answer 503 with `Retry-After`);
 * any other error unchanged.
 */
export function classifyDatabaseError(error: unknown): unknown {
  if (error instanceof DatabaseUnavailableError || !isConnectionLoss(error)) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'connection lost';
  return new DatabaseUnavailableError(`the database is unreachable (${code})`, { cause: error });
}
