/**
 * Shared pieces of the webhook authenticators: header access, raw bodies, HMAC, constant-time
 * comparison.
 *
 * @module
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { WebhookError } from './errors.js';

/** Request headers as Node (`IncomingHttpHeaders`), Fetch (`Headers`) or a plain record give them. */
export type WebhookHeaders = { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

/** The body exactly as received. A string is taken as UTF-8; never pass re-serialised JSON. */
export type RawBody = Uint8Array | ArrayBuffer | string;

/** What every authenticator receives: the headers and the raw body. */
export interface WebhookRequest {
  readonly headers: WebhookHeaders;
  readonly body: RawBody;
}

/** A request that passed authentication. Parse the body only now. */
export interface VerifiedWebhook {
  /** The raw body. */
  readonly body: Buffer;
  /** Parses the body as JSON; throws `ERR_WEBHOOK_PAYLOAD_INVALID`. */
  json<T = unknown>(): T;
}

/** One header value; a repeated header is malformed. */
export function header(headers: WebhookHeaders, name: string): string | undefined {
  let value: string | readonly string[] | null | undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') value = (headers as { get(name: string): string | null }).get(name);
  else {
    const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
    value = record[name];
    if (value === undefined) {
      const wanted = name.toLowerCase();
      for (const [key, entry] of Object.entries(record)) if (key.toLowerCase() === wanted) value = entry;
    }
  }
  if (value === null || value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', `repeated ${name} header`);
  return value;
}

export function bodyBytes(body: RawBody): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('webhook body must be the raw bytes (Buffer, Uint8Array, ArrayBuffer) or string');
}

export function verified(body: Buffer): VerifiedWebhook {
  return {
    body,
    json<T>(): T {
      try {
        return JSON.parse(body.toString('utf8')) as T;
      } catch {
        throw new WebhookError('ERR_WEBHOOK_PAYLOAD_INVALID', 'body is not valid JSON');
      }
    },
  };
}

/** HMAC-SHA256 over the concatenation of `parts`. */
export function hmacSha256(secret: Uint8Array | string, ...parts: Array<Uint8Array | string>): Buffer {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Constant-time equality of two MACs (different lengths are simply unequal). */
export function macEquals(expected: Buffer, given: Buffer): boolean {
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Constant-time equality of two strings of any length: both are hashed first. */
export function secretEquals(expected: string, given: string): boolean {
  return timingSafeEqual(hash('sha256', expected, 'buffer'), hash('sha256', given, 'buffer'));
}

/** Normalises one secret or a list of them (rotation) into a non-empty array. */
export function secretList<T>(value: T | readonly T[], name: string): readonly T[] {
  const list = (Array.isArray(value) ? value : [value]) as readonly T[];
  if (list.length === 0 || list.some((entry) => entry === undefined || entry === null || (typeof entry === 'string' && entry === ''))) {
    throw new TypeError(`\`${name}\` must be a non-empty secret or list of secrets`);
  }
  return list;
}

/** Validates a tolerance in seconds. */
export function toleranceSeconds(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError('`tolerance` must be a positive number of seconds');
  return value;
}

/** Strict decoding: `undefined` unless `text` is canonical hex / base64. */
export function decodeHex(text: string): Buffer | undefined {
  return /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? Buffer.from(text, 'hex') : undefined;
}
export function decodeBase64(text: string): Buffer | undefined {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0 ? Buffer.from(text, 'base64') : undefined;
}
