/**
 * Standard Webhooks (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64> [v1,<base64> …]`, HMAC-SHA256 of `id.timestamp.body` under the
 * base64-decoded `whsec_` secret, ±5 minutes, replay protection by id.
 *
 * @module
 */
import { bodyBytes, decodeBase64, header, hmacSha256, macEquals, secretList, toleranceSeconds, verified, type VerifiedWebhook, type WebhookRequest } from './common.js';
import { WebhookError } from './errors.js';
import type { ReplayStore } from './replay.js';

/** Options of {@link verifyStandardWebhook}. */
export interface StandardWebhookOptions {
  /** Secret(s) as `whsec_<base64>` (or raw key bytes); several during rotation. */
  readonly secrets: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Accepted distance between `webhook-timestamp` and now, in seconds, either way. Default is 300. */
  readonly tolerance?: number;
  /** Remembers accepted ids; a repeated id is refused with `ERR_WEBHOOK_REPLAYED`. Default: none. */
  readonly replayStore?: ReplayStore;
  /** Clock in milliseconds. Default is `Date.now`. */
  readonly now?: () => number;
}

/** A verified Standard Webhooks delivery. */
export interface VerifiedStandardWebhook extends VerifiedWebhook {
  readonly id: string;
  /** Signed timestamp, seconds since the epoch. */
  readonly timestamp: number;
}

/** Decodes a `whsec_` secret to key bytes; `TypeError` for anything else. */
export function standardWebhookKey(secret: string | Uint8Array): Buffer {
  if (typeof secret !== 'string') return Buffer.from(secret);
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = decodeBase64(encoded);
  if (!key || key.length < 16) throw new TypeError('Standard Webhooks secrets are "whsec_" followed by base64 of at least 16 bytes');
  return key;
}

/**
 * Creates a verifier bound to its secrets (decoded once).
 *
 * @example
 * ```ts
 * const verify = standardWebhookVerifier({ secrets: [process.env.WEBHOOK_SECRET!], replayStore: memoryReplayStore() });
 * const delivery = await verify({ headers: req.headers, body: rawBody });
 * handle(delivery.id, delivery.json());
 * ```
 */
export function standardWebhookVerifier(options: StandardWebhookOptions): (request: WebhookRequest) => Promise<VerifiedStandardWebhook> {
  const keys = secretList<string | Uint8Array>(options.secrets, 'secrets').map(standardWebhookKey);
  const tolerance = toleranceSeconds(options.tolerance, 300);
  const now = options.now ?? Date.now;
  const store = options.replayStore;
  return async function verifyStandard(request) {
    const id = header(request.headers, 'webhook-id');
    const timestampText = header(request.headers, 'webhook-timestamp');
    const signatureText = header(request.headers, 'webhook-signature');
    if (id === undefined || timestampText === undefined || signatureText === undefined) {
      throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MISSING', 'webhook-id, webhook-timestamp and webhook-signature are required');
    }
    if (id.length > 256 || !/^[\x21-\x7e]+$/.test(id)) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'webhook-id is malformed');
    if (!/^\d{1,12}$/.test(timestampText)) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'webhook-timestamp is malformed');
    const timestamp = Number(timestampText);
    const signatures: Buffer[] = [];
    for (const entry of signatureText.split(' ')) {
      if (entry === '') continue;
      const comma = entry.indexOf(',');
      if (comma === -1) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'webhook-signature is malformed');
      if (entry.slice(0, comma) !== 'v1') continue;
      const decoded = decodeBase64(entry.slice(comma + 1));
      if (decoded?.length === 32) signatures.push(decoded);
    }
    if (signatures.length === 0) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'webhook-signature has no v1 signature');
    if (signatures.length > 8) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_MALFORMED', 'too many signatures');

    const body = bodyBytes(request.body);
    let matched = false;
    for (const key of keys) {
      const expected = hmacSha256(key, `${id}.${timestampText}.`, body);
      for (const signature of signatures) matched = macEquals(expected, signature) || matched;
    }
    if (!matched) throw new WebhookError('ERR_WEBHOOK_SIGNATURE_INVALID', 'signature does not match');
    const nowMs = now();
    if (Math.abs(nowMs / 1000 - timestamp) > tolerance) throw new WebhookError('ERR_WEBHOOK_TIMESTAMP_INVALID', 'timestamp outside the tolerance');
    if (store) {
      // Remember the id for as long as this signature could be presented again.
      const ttlMs = (timestamp + tolerance) * 1000 - nowMs + 1_000;
      if (!(await store.remember(id, ttlMs))) throw new WebhookError('ERR_WEBHOOK_REPLAYED', 'message already received');
    }
    return { ...verified(body), id, timestamp };
  };
}

/** One-shot form of {@link standardWebhookVerifier}. */
export function verifyStandardWebhook(request: WebhookRequest, options: StandardWebhookOptions): Promise<VerifiedStandardWebhook> {
  return standardWebhookVerifier(options)(request);
}
