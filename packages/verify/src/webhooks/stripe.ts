/**
 * Stripe webhooks: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`, HMAC-SHA256 of `t + "." + body`
 * under the endpoint secret (`whsec_…`, used as is), hex encoded.
 *
 * @module
 */
import { bodyBytes, decodeHex, header, hmacSha256, macEquals, secretList, toleranceSeconds, verified, type VerifiedWebhook, type WebhookRequest } from './common.js';
import { WebhookError } from './errors.js';

/** Options of {@link verifyStripeWebhook}. */
export interface StripeWebhookOptions {
  /** Endpoint secret(s), `whsec_…`; several during rotation. */
  readonly secrets: string | readonly string[];
  /** Maximum distance between `t` and now, in seconds, either way. Default is 300 (5 minutes). */
  readonly tolerance?: number;
  /** Clock in milliseconds. Default is `Date.now`. */
  readonly now?: () => number;
}

/** A verified Stripe delivery; `timestamp` is the signed `t` (seconds). */
export interface VerifiedStripeWebhook extends VerifiedWebhook {
  readonly timestamp: number;
}

/**
 * Verifies a Stripe delivery. Any `v1` signature may match any secret. Unlike Stripe's own library,
 * timestamps too far in the future are refused as well as old ones.
 */
export function verifyStripeWebhook(request: WebhookRequest, options: StripeWebhookOptions): VerifiedStripeWebhook {
  const secrets = secretList(options.secrets, 'secrets');
  const tolerance = toleranceSeconds(options.tolerance, 300);
  const value = header(request.headers, 'stripe-signature');
  if (value === undefined) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MISSING', 'Stripe-Signature header missing');
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const item of value.split(',')) {
    const equals = item.indexOf('=');
    if (equals === -1) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'Stripe-Signature is malformed');
    const name = item.slice(0, equals).trim();
    const content = item.slice(equals + 1).trim();
    if (name === 't') {
      if (!/^\d{1,12}$/.test(content) || timestamp !== undefined) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'Stripe-Signature timestamp is malformed');
      timestamp = Number(content);
    } else if (name === 'v1') {
      const decoded = decodeHex(content);
      if (decoded?.length === 32) signatures.push(decoded);
    }
  }
  if (timestamp === undefined || signatures.length === 0) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'Stripe-Signature needs t= and v1=');
  if (signatures.length > 8) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'too many signatures');
  const body = bodyBytes(request.body);
  let matched = false;
  for (const secret of secrets) {
    const expected = hmacSha256(secret, `${timestamp}.`, body);
    for (const signature of signatures) matched = macEquals(expected, signature) || matched;
  }
  if (!matched) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_INVALID', 'signature does not match');
  const now = (options.now ?? Date.now)() / 1000;
  if (Math.abs(now - timestamp) > tolerance) throw new WebhookError('ERR_WEBHOOK_TIMESTAMP_INVALID', 'timestamp outside the tolerance');
  return { ...verified(body), timestamp };
}
