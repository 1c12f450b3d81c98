import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { IdentityError, Messages, validationFailed } from '../errors.js';

/** The parsed JSON body (always an object under `/auth/v1`). */
export function bodyOf(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

/** An optional string field; `null`/absent → undefined; another type → 400 `bad_json`. */
export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new IdentityError(400, 'bad_json', `Could not parse request body as JSON: "${field}" must be a string`);
  return value;
}

/** An optional JSON object field; another type → 400 `bad_json`. */
export function optionalObject(body: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new IdentityError(400, 'bad_json', `Could not parse request body as JSON: "${field}" must be an object`);
  return value as Record<string, unknown>;
}

/** An optional boolean field; another type → 400 `bad_json`. */
export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new IdentityError(400, 'bad_json', `Could not parse request body as JSON: "${field}" must be a boolean`);
  return value;
}

/** The address syntax GoTrue accepts (local part of RFC 5322 atoms and dots; host of DNS labels). */
const EMAIL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Validates and lower-cases an email address: 400 `validation_failed` with GoTrue's messages
 * ("An email address is too long", "Unable to validate email address: invalid format").
 */
export function normaliseEmail(email: string): string {
  const trimmed = email.trim().toLowerCase();
  if (trimmed.length > 255) throw validationFailed('An email address is too long');
  if (!EMAIL.test(trimmed)) throw validationFailed(Messages.invalidEmail);
  return trimmed;
}

/**
 * Validates a phone number in E.164 as GoTrue does (a leading `+` and spaces dropped, then 2 to 15
 * digits not starting with 0), returned without the `+` as GoTrue stores it.
 */
export function normalisePhone(phone: string): string {
  const digits = phone.trim().replace(/^\+/, '').replace(/ /g, '');
  if (!/^[1-9]\d{1,14}$/.test(digits)) throw validationFailed(Messages.invalidPhone);
  return digits;
}

/** The bearer token of the request, or 401 `no_authorization`. */
export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) throw new IdentityError(401, 'no_authorization', Messages.noAuthorization);
  return match[1]!;
}

export { clientAddress } from './client-address.js';

/** Compares two secrets in constant time (hashing both first, so lengths do not leak). */
export function sameSecret(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}
