/**
 * Shopify webhooks: `X-Shopify-Hmac-Sha256` (or `shopify-hmac-sha256` on event deliveries), the
 * base64 HMAC-SHA256 of the raw body under the app's client secret.
 *
 * @module
 */
import { bodyBytes, decodeBase64, header, hmacSha256, macEquals, secretList, verified, type VerifiedWebhook, type WebhookRequest } from './common.js';
import { WebhookError } from './errors.js';

/** Verifies a Shopify delivery against each client secret (several during rotation). Deduplicate on `X-Shopify-Webhook-Id` yourself: the signature carries no timestamp. */
export function verifyShopifyWebhook(request: WebhookRequest, options: { secrets: string | readonly string[] }): VerifiedWebhook {
  const secrets = secretList(options.secrets, 'secrets');
  const value = header(request.headers, 'x-shopify-hmac-sha256') ?? header(request.headers, 'shopify-hmac-sha256');
  if (value === undefined) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MISSING', 'X-Shopify-Hmac-Sha256 header missing');
  const given = decodeBase64(value.trim());
  if (given === undefined || given.length !== 32) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'X-Shopify-Hmac-Sha256 must be base64');
  const body = bodyBytes(request.body);
  let matched = false;
  for (const secret of secrets) matched = macEquals(hmacSha256(secret, body), given) || matched;
  if (!matched) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_INVALID', 'signature does not match');
  return verified(body);
}
