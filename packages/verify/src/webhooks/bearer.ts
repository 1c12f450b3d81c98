/**
 * Webhooks authenticated by a static shared token: `Authorization: Bearer <token>`.
 *
 * @module
 */
import { header, secretEquals, secretList, type WebhookHeaders } from './common.js';
import { WebhookError } from './errors.js';

/**
 * Checks `Authorization: Bearer <token>` against the accepted tokens (several during rotation) in
 * constant time. Throws `ERR_WEBHOOK_SIGNATURE_MISSING` or `ERR_WEBHOOK_TOKEN_INVALID` (both 401).
 */
export function verifyStaticBearer(headers: WebhookHeaders, options: { tokens: string | readonly string[] }): void {
  const tokens = secretList(options.tokens, 'tokens');
  const value = header(headers, 'authorization');
  if (value === undefined) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MISSING', 'Authorization header missing');
  const match = /^bearer +(\S+)\s*$/i.exec(value);
  if (!match) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'Authorization must be "Bearer <token>"');
  const given = match[1] as string;
  let matched = false;
  for (const token of tokens) matched = secretEquals(token, given) || matched;
  if (!matched) throw new WebhookError('ERR_WEBHOOK_TOKEN_INVALID', 'token does not match');
}
