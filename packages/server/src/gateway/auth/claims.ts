import type { JsonValue } from '../protocol/types.js';

/** The token claims the gateway acts on (others are kept and handed to RPC handlers). */
export interface GatewayClaims {
  readonly [claim: string]: unknown;
  /** User id; `""` or absent is an anonymous user. */
  readonly sub?: string;
  /** Expiry, seconds since the epoch. */
  readonly exp?: number;
  /** Shown to other clients in presence, join/leave and publications. */
  readonly info?: JsonValue;
  /** Channels the connection is subscribed to on the server side at connect. */
  readonly channels?: readonly string[];
  /** Server-only data, forwarded to the RPC proxy. */
  readonly meta?: JsonValue;
  /** Connection expiry decoupled from `exp`; `0` never expires. */
  readonly expire_at?: number;
  /** Subscription tokens only: the channel. */
  readonly channel?: string;
  /** Subscription tokens only: the client id the token is bound to. */
  readonly client?: string;
  readonly app_metadata?: { readonly organization_id?: unknown; readonly [key: string]: unknown };
}

/** Why a token was refused: expired (109), invalid (3500 / 103) or the key source unreachable (100, temporary). */
export type TokenFailure = 'expired' | 'invalid' | 'unavailable';

/** A token that did not verify. `detail` is for logs and never contains the token. */
export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError';
  readonly code = 'ERR_GATEWAY_TOKEN_REJECTED';
  constructor(
    readonly failure: TokenFailure,
    readonly detail: string,
  ) {
    super(`token ${failure}: ${detail}`);
  }
}

function isJson(value: unknown): boolean {
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks the claim types the gateway relies on, decodes `b64info`, and returns typed claims. Throws
 * {@link TokenRejectedError} (`invalid`) for wrong types.
 */
export function checkClaims(payload: Record<string, unknown>, kind: 'connection' | 'subscription'): GatewayClaims {
  const invalid = (detail: string): never => {
    throw new TokenRejectedError('invalid', detail);
  };
  if (payload.sub !== undefined && typeof payload.sub !== 'string') invalid('sub must be a string');
  if (payload.exp !== undefined && typeof payload.exp !== 'number') invalid('exp must be a number');
  if (payload.expire_at !== undefined && (typeof payload.expire_at !== 'number' || payload.expire_at < 0)) invalid('expire_at must be a number');
  if (payload.channels !== undefined && (!Array.isArray(payload.channels) || payload.channels.some((item) => typeof item !== 'string'))) {
    invalid('channels must be a list of strings');
  }
  if (payload.info !== undefined && !isJson(payload.info)) invalid('info must be JSON');
  let info = payload.info;
  if (payload.b64info !== undefined) {
    if (typeof payload.b64info !== 'string') invalid('b64info must be a string');
    try {
      info = JSON.parse(Buffer.from(payload.b64info as string, 'base64').toString('utf8')) as unknown;
    } catch {
      invalid('b64info must be base64 JSON');
    }
  }
  if (kind === 'connection' && payload.channel !== undefined) invalid('connection tokens must not carry channel');
  if (kind === 'subscription' && (typeof payload.channel !== 'string' || payload.channel === '')) invalid('subscription tokens need channel');
  if (payload.client !== undefined && typeof payload.client !== 'string') invalid('client must be a string');
  return { ...payload, info } as GatewayClaims;
}
