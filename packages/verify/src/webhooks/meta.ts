/**
 * Meta (Facebook, Instagram, WhatsApp) webhooks: the `hub.*` verify-token handshake (GET) and the
 * `X-Hub-Signature-256: sha256=<hex>` HMAC over the raw body (POST).
 *
 * @module
 */
import { bodyBytes, decodeHex, header, hmacSha256, macEquals, secretEquals, secretList, verified, type VerifiedWebhook, type WebhookRequest } from './common.js';
import { WebhookError } from './errors.js';

/** Query parameters of the handshake: a `URLSearchParams` or a parsed query object. */
export type HandshakeQuery = URLSearchParams | Readonly<Record<string, unknown>>;

function param(query: HandshakeQuery, name: string): string | undefined {
  const value = query instanceof URLSearchParams ? query.get(name) : query[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Checks a subscription handshake (`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`) and
 * returns the challenge to answer with status 200 and `content-type: text/plain`.
 * Throws `ERR_WEBHOOK_HANDSHAKE_INVALID` (400) or `ERR_WEBHOOK_TOKEN_INVALID` (403).
 */
export function verifyMetaHandshake(query: HandshakeQuery, options: { verifyTokens: string | readonly string[] }): string {
  const tokens = secretList(options.verifyTokens, 'verifyTokens');
  const mode = param(query, 'hub.mode');
  const challenge = param(query, 'hub.challenge');
  const given = param(query, 'hub.verify_token');
  if (mode !== 'subscribe') throw new WebhookError('ERR_WEBHOOK_HANDSHAKE_INVALID', 'hub.mode must be "subscribe"');
  if (challenge === undefined || challenge === '' || challenge.length > 1024 || !/^[A-Za-z0-9._~-]+$/.test(challenge)) {
    throw new WebhookError('ERR_WEBHOOK_HANDSHAKE_INVALID', 'hub.challenge missing or invalid');
  }
  let matched = false;
  for (const token of tokens) matched = secretEquals(token, given ?? '') || matched;
  if (!matched) throw new WebhookError('ERR_WEBHOOK_TOKEN_INVALID', 'verify token does not match', 403);
  return challenge;
}

/**
 * Verifies `X-Hub-Signature-256` against each app secret (several during rotation).
 *
 * @example
 * ```ts
 * const event = verifyMetaSignature({ headers: req.headers, body: rawBody }, { secrets: [APP_SECRET] }).json();
 * ```
 */
export function verifyMetaSignature(request: WebhookRequest, options: { secrets: string | readonly string[] }): VerifiedWebhook {
  const secrets = secretList(options.secrets, 'secrets');
  const value = header(request.headers, 'x-hub-signature-256');
  if (value === undefined) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MISSING', 'X-Hub-Signature-256 header missing');
  const given = value.startsWith('sha256=') ? decodeHex(value.slice('sha256='.length)) : undefined;
  if (given === undefined || given.length !== 32) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'X-Hub-Signature-256 must be sha256=<hex>');
  const body = bodyBytes(request.body);
  let matched = false;
  for (const secret of secrets) matched = macEquals(hmacSha256(secret, body), given) || matched;
  if (!matched) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_INVALID', 'signature does not match');
  return verified(body);
}
