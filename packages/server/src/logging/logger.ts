import pino, { type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from '../config/index.js';

export type { Logger } from 'pino';

/** Query parameters whose values are credentials and must never be written out. */
const SECRET_QUERY_KEYS = new Set(['token', 'token_hash', 'refresh_token', 'access_token', 'code', 'code_verifier', 'password', 'apikey', 'api_key', 'secret', 'client_secret']);

/** Field paths censored in every log line: credentials in headers and bodies. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers.apikey',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  '*.secret',
  '*.apikey',
  'password',
  'token',
  'access_token',
  'refresh_token',
  'client_secret',
  'secret',
];

/** Removes the values of credential-bearing query parameters from a request URL. */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return url;
  const params = new URLSearchParams(url.slice(queryStart + 1));
  let changed = false;
  for (const key of [...params.keys()]) {
    if (SECRET_QUERY_KEYS.has(key.toLowerCase())) {
      params.set(key, '[Redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, queryStart)}?${params.toString()}` : url;
}

interface RequestLike {
  method?: string;
  url?: string;
  ip?: string;
  id?: string;
}

/**
 * JSON logger (pino) with credentials redacted: Authorization and Cookie headers, API keys, tokens,
 * passwords and secrets, and token-bearing query parameters.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'latchkey' },
      redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
      serializers: {
        req(request: RequestLike) {
          return { id: request.id, method: request.method, url: request.url ? redactUrl(request.url) : undefined, remoteAddress: request.ip };
        },
      },
    },
    destination,
  );
}
