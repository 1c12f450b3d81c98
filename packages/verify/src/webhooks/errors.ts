/**
 * Webhook authentication errors: one class, stable codes, an HTTP status for each.
 *
 * | code | status | meaning |
 * |---|---|---|
 * | `ERR_WEBHOOK_SIGNATURE_MISSING` | 401 | the signature (or bearer) header is absent |
 * | `ERR_WEBHOOK_SIGNATURE_MALFORMED` | 400 | the header is present but cannot be parsed |
 * | `ERR_WEBHOOK_SIGNATURE_INVALID` | 401 | no accepted secret produces a matching signature |
 * | `ERR_WEBHOOK_TIMESTAMP_INVALID` | 401 | the signed timestamp lies outside the tolerance |
 * | `ERR_WEBHOOK_REPLAYED` | 409 | this message id was already accepted |
 * | `ERR_WEBHOOK_TOKEN_INVALID` | 401 (bearer) / 403 (verify-token handshake) | the shared token does not match |
 * | `ERR_WEBHOOK_HANDSHAKE_INVALID` | 400 | `hub.mode` is not `subscribe` or `hub.challenge` is missing |
 * | `ERR_WEBHOOK_PAYLOAD_INVALID` | 400 | the verified body is not valid JSON |
 *
 * @module
 */

/** Every code a {@link WebhookError} can carry. */
export type WebhookErrorCode =
  | 'ERR_WEBHOOK_SIGNATURE_MISSING'
  | 'ERR_WEBHOOK_SIGNATURE_MALFORMED'
  | 'ERR_WEBHOOK_SIGNATURE_INVALID'
  | 'ERR_WEBHOOK_TIMESTAMP_INVALID'
  | 'ERR_WEBHOOK_REPLAYED'
  | 'ERR_WEBHOOK_TOKEN_INVALID'
  | 'ERR_WEBHOOK_HANDSHAKE_INVALID'
  | 'ERR_WEBHOOK_PAYLOAD_INVALID';

const STATUS: Record<WebhookErrorCode, 400 | 401 | 403 | 409> = {
  ERR_WEBHOOK_SIGNATURE_MISSING: 401,
  ERR_WEBHOOK_SIGNATURE_MALFORMED: 400,
  ERR_WEBHOOK_SIGNATURE_INVALID: 401,
  ERR_WEBHOOK_TIMESTAMP_INVALID: 401,
  ERR_WEBHOOK_REPLAYED: 409,
  ERR_WEBHOOK_TOKEN_INVALID: 401,
  ERR_WEBHOOK_HANDSHAKE_INVALID: 400,
  ERR_WEBHOOK_PAYLOAD_INVALID: 400,
};

/** A webhook request that must be refused. `description` is safe to send back. */
export class WebhookError extends Error {
  readonly code: WebhookErrorCode;
  /** Suggested HTTP status. */
  readonly status: 400 | 401 | 403 | 409;
  readonly description: string;

  constructor(code: WebhookErrorCode, description: string, status: 400 | 401 | 403 | 409 = STATUS[code]) {
    super(description);
    this.name = 'WebhookError';
    this.code = code;
    this.status = status;
    this.description = description;
  }

  /** JSON body to send: `{ error, error_description }`. */
  get body(): { error: WebhookErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}
