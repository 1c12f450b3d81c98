import { standardWebhookKey } from '@latchkey/verify/webhooks';
import { ConfigError, parseInteger, parseSeconds, parseUrl, readSetting, type Environment, type RawSetting } from '../config/index.js';

/** How an endpoint authenticates its deliveries. */
export type WebhookScheme =
  /** Meta's `hub.*` verify-token handshake (GET) and `X-Hub-Signature-256` (POST). */
  | { readonly kind: 'meta'; readonly verifyToken: string | null; readonly appSecret: string | null }
  /** `X-Shopify-Hmac-Sha256`, base64 HMAC of the body. */
  | { readonly kind: 'shopify'; readonly secret: string }
  /** `Stripe-Signature: t=…,v1=…`. */
  | { readonly kind: 'stripe'; readonly secret: string }
  /** `Authorization: Bearer <token>`. */
  | { readonly kind: 'bearer'; readonly token: string }
  /** Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), `whsec_` secret. */
  | { readonly kind: 'standard'; readonly secret: string };

/** One configured endpoint, served at `POST /webhooks/<name>`. */
export interface WebhookEndpoint {
  /** Path segment and gateway channel suffix (`webhooks:<name>`). */
  readonly name: string;
  readonly scheme: WebhookScheme;
  /** Where each new event is also POSTed (`LATCHKEY_WEBHOOK_<NAME>_FORWARD_URL`); `null` = none. */
  readonly forwardUrl: string | null;
}

/** Every webhook setting after validation. */
export interface WebhookSettings {
  readonly endpoints: readonly WebhookEndpoint[];
  /** Largest body accepted, in bytes (`LATCHKEY_WEBHOOK_MAX_BODY`); 413 beyond. Default 1048576. */
  readonly maxBody: number;
  /** Forward attempts per event (`LATCHKEY_WEBHOOK_FORWARD_ATTEMPTS`). Default 6. */
  readonly forwardAttempts: number;
  /** Seconds before the second attempt, doubling after each failure (`LATCHKEY_WEBHOOK_FORWARD_BACKOFF`). Default 2. */
  readonly forwardBackoff: number;
  /** Seconds one forward attempt may take (`LATCHKEY_WEBHOOK_FORWARD_TIMEOUT`). Default 10. */
  readonly forwardTimeout: number;
}

const PREFIX = 'LATCHKEY_WEBHOOK_';
/** Names with their own scheme; any other `LATCHKEY_WEBHOOK_<NAME>_SECRET` is a Standard Webhooks endpoint. */
const BUILT_IN = new Set(['WHATSAPP', 'WHATSAPP_APP', 'SHOPIFY', 'STRIPE', 'INTERNAL']);
/** Settings that are not endpoints. */
const GLOBAL = new Set(['MAX_BODY', 'FORWARD_ATTEMPTS', 'FORWARD_BACKOFF', 'FORWARD_TIMEOUT']);

function secretOf(setting: RawSetting | undefined, minLength = 8): string | null {
  if (!setting) return null;
  if (setting.value.length < minLength) throw new ConfigError(setting.name, `must be at least ${minLength} characters`);
  return setting.value;
}

/** `ORDERS_API` → `orders-api`. */
function pathName(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}

/**
 * Reads the inbound webhook endpoints from `LATCHKEY_WEBHOOK_*`: WhatsApp (`…_WHATSAPP_VERIFY_TOKEN`,
 * `…_WHATSAPP_APP_SECRET`), Shopify (`…_SHOPIFY_SECRET`), Stripe (`…_STRIPE_SECRET`), internal
 * (`…_INTERNAL_TOKEN`, static bearer) and Standard Webhooks (`…_<NAME>_SECRET=whsec_…`), each with an
 * optional `…_<NAME>_FORWARD_URL`. Throws {@link ConfigError} naming the first bad variable.
 */
export function loadWebhookSettings(env: Environment): WebhookSettings {
  const endpoints: WebhookEndpoint[] = [];
  const forward = (name: string): string | null => {
    const setting = readSetting(env, [`${PREFIX}${name}_FORWARD_URL`]);
    return setting ? parseUrl(setting, ['http', 'https']).toString() : null;
  };
  const read = (name: string) => readSetting(env, [`${PREFIX}${name}`]);

  const verifyToken = secretOf(read('WHATSAPP_VERIFY_TOKEN'), 1);
  const appSecret = secretOf(read('WHATSAPP_APP_SECRET'));
  if (verifyToken !== null || appSecret !== null) endpoints.push({ name: 'whatsapp', scheme: { kind: 'meta', verifyToken, appSecret }, forwardUrl: forward('WHATSAPP') });
  const shopify = secretOf(read('SHOPIFY_SECRET'));
  if (shopify !== null) endpoints.push({ name: 'shopify', scheme: { kind: 'shopify', secret: shopify }, forwardUrl: forward('SHOPIFY') });
  const stripe = secretOf(read('STRIPE_SECRET'));
  if (stripe !== null) endpoints.push({ name: 'stripe', scheme: { kind: 'stripe', secret: stripe }, forwardUrl: forward('STRIPE') });
  const internal = secretOf(read('INTERNAL_TOKEN'), 16);
  if (internal !== null) endpoints.push({ name: 'internal', scheme: { kind: 'bearer', token: internal }, forwardUrl: forward('INTERNAL') });

  for (const variable of Object.keys(env).sort()) {
    const match = /^LATCHKEY_WEBHOOK_([A-Z0-9_]+)_SECRET$/.exec(variable);
    if (!match || BUILT_IN.has(match[1]!) || GLOBAL.has(match[1]!)) continue;
    const setting = readSetting(env, [variable]);
    if (!setting) continue;
    if (!/^[A-Z0-9]+(_[A-Z0-9]+)*$/.test(match[1]!)) throw new ConfigError(variable, 'the endpoint name must be letters and digits separated by single underscores');
    try {
      standardWebhookKey(setting.value);
    } catch (error) {
      throw new ConfigError(variable, (error as Error).message);
    }
    if (!setting.value.startsWith('whsec_')) throw new ConfigError(variable, 'must be a Standard Webhooks secret (whsec_…)');
    endpoints.push({ name: pathName(match[1]!), scheme: { kind: 'standard', secret: setting.value }, forwardUrl: forward(match[1]!) });
  }

  const maxBody = read('MAX_BODY');
  const attempts = read('FORWARD_ATTEMPTS');
  const backoff = read('FORWARD_BACKOFF');
  const timeout = read('FORWARD_TIMEOUT');
  return {
    endpoints,
    maxBody: maxBody ? parseInteger(maxBody, { min: 1024, max: 64 * 1024 * 1024 }) : 1_048_576,
    forwardAttempts: attempts ? parseInteger(attempts, { min: 1, max: 100 }) : 6,
    forwardBackoff: backoff ? parseSeconds(backoff, { min: 0.01, max: 3600 }) : 2,
    forwardTimeout: timeout ? parseSeconds(timeout, { min: 0.1, max: 600 }) : 10,
  };
}
