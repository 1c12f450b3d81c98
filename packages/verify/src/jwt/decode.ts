/**
 * Splitting and decoding a compact JWS without trusting any of it yet.
 *
 * @module
 */
import { TokenMalformedError } from '../errors.js';

/** Protected header fields the verifier reads. */
export interface JwsHeader {
  readonly alg: string;
  readonly kid?: string;
  readonly typ?: string;
  readonly [name: string]: unknown;
}

/** A token split into its parts; nothing in it is verified. */
export interface DecodedToken {
  readonly header: JwsHeader;
  readonly payloadSegment: string;
  /** `header.payload` as sent: the bytes the signature covers. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

/** Size limits; tokens beyond them are malformed before any decoding happens. */
export interface TokenLimits {
  /** Maximum length of the whole token in characters. */
  readonly maxTokenLength: number;
  /** Maximum length of the encoded header segment in characters. */
  readonly maxHeaderLength: number;
}

/**
 * Decodes a base64url segment strictly. Node's decoder silently skips foreign characters and
 * accepts non-canonical trailing bits; re-encoding and comparing refuses both, and is cheaper than a
 * character-class scan.
 */
function strictBase64url(segment: string): Buffer | undefined {
  const bytes = Buffer.from(segment, 'base64url');
  return bytes.toString('base64url') === segment ? bytes : undefined;
}

const HEADER_CACHE_SIZE = 64;
/** Decoded headers by encoded segment: tokens from one issuer share a handful of headers. */
const headerCache = new Map<string, JwsHeader>();

function parseJsonObject(segment: string, part: string): Record<string, unknown> {
  const bytes = strictBase64url(segment);
  if (bytes === undefined || bytes.length === 0) throw new TokenMalformedError(`token ${part} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TokenMalformedError(`token ${part} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenMalformedError(`token ${part} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function parseHeader(segment: string): JwsHeader {
  const cached = headerCache.get(segment);
  if (cached) return cached;
  const header = parseJsonObject(segment, 'header');
  if (typeof header.alg !== 'string') throw new TokenMalformedError('token header has no "alg"');
  if (header.kid !== undefined && typeof header.kid !== 'string') throw new TokenMalformedError('token header "kid" is not a string');
  if (header.typ !== undefined && typeof header.typ !== 'string') throw new TokenMalformedError('token header "typ" is not a string');
  // No extension is understood, so any critical one makes the token unusable (RFC 7515 §4.1.11).
  if (header.crit !== undefined) throw new TokenMalformedError('token header has unsupported "crit"');
  if (header.b64 !== undefined) throw new TokenMalformedError('unencoded payloads are not supported');
  if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.clear();
  const frozen = Object.freeze(header) as JwsHeader;
  headerCache.set(segment, frozen);
  return frozen;
}

/**
 * Splits `token` and decodes its header; throws {@link TokenMalformedError}. The header and
 * signature segments are checked here; the payload segment is checked by {@link decodePayload},
 * which runs only after the signature over its exact characters has verified.
 */
export function decodeToken(token: unknown, limits: TokenLimits): DecodedToken {
  if (typeof token !== 'string') throw new TokenMalformedError();
  if (token.length > limits.maxTokenLength) throw new TokenMalformedError('token is too large');
  const firstDot = token.indexOf('.');
  if (firstDot > limits.maxHeaderLength) throw new TokenMalformedError('token header is too large');
  const lastDot = token.lastIndexOf('.');
  // Exactly two dots, non-empty header and payload.
  if (firstDot < 1 || lastDot <= firstDot + 1 || token.indexOf('.', firstDot + 1) !== lastDot) throw new TokenMalformedError();
  const signature = strictBase64url(token.slice(lastDot + 1));
  if (signature === undefined) throw new TokenMalformedError();
  const header = parseHeader(token.slice(0, firstDot));
  return {
    header,
    payloadSegment: token.slice(firstDot + 1, lastDot),
    signingInput: token.slice(0, lastDot),
    signature,
  };
}

/** Decodes the payload segment to a JSON object; throws {@link TokenMalformedError}. */
export function decodePayload(segment: string): Record<string, unknown> {
  return parseJsonObject(segment, 'payload');
}
