/**
 * Registered-claim checks (RFC 7519 §4.1) after the signature has been verified.
 *
 * @module
 */
import { ClaimInvalidError, TokenExpiredError, TokenNotYetValidError } from '../errors.js';

/**
 * Claims of a token verified by a verifier that accepts any issuer or audience, or no `exp`
 * (`issuer: null`, `audience: null`, `requireExpiry: false`): the registered claims may be absent, but
 * have their registered types when present.
 */
export interface UncheckedClaims {
  readonly iss?: string;
  readonly aud?: string | readonly string[];
  readonly exp?: number;
  readonly sub?: string;
  readonly nbf?: number;
  readonly iat?: number;
  readonly jti?: string;
  readonly role?: string;
  readonly scope?: string;
  readonly session_id?: string;
  readonly [claim: string]: unknown;
}

/**
 * Claims of a token verified with issuer, audience and expiry required: `iss`, `aud` and `exp` are
 * present; the other registered claims are typed when present; everything else is `unknown`.
 */
export interface Claims extends UncheckedClaims {
  readonly iss: string;
  readonly aud: string | readonly string[];
  readonly exp: number;
}

/** What the claims must satisfy. Times in seconds. */
export interface ClaimRules {
  /** Accepted `iss` values; `undefined` accepts any (a present `iss` must still be a string). */
  readonly issuers: ReadonlySet<string> | undefined;
  /** Accepted `aud` values; `undefined` accepts any (a present `aud` must still be a string or strings). */
  readonly audiences: ReadonlySet<string> | undefined;
  readonly requiredClaims: readonly string[];
  readonly clockTolerance: number;
  /** When set, `iat` is required and the token may be at most this old. */
  readonly maxTokenAge: number | undefined;
  /** Refuse an `iat` in the future (beyond the tolerance). */
  readonly checkIssuedAt: boolean;
}

function numeric(payload: Record<string, unknown>, claim: string): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ClaimInvalidError(claim, `"${claim}" claim must be a number`);
  return value;
}

/**
 * Checks `payload` against `rules` at `nowSeconds`; throws the matching {@link VerifyError} subclass.
 * Returns the time (seconds) until which the token stays acceptable: `exp`, or `iat + maxTokenAge`
 * when that comes first, plus the clock tolerance.
 */
export function checkClaims(payload: Record<string, unknown>, rules: ClaimRules, nowSeconds: number): number {
  for (const claim of rules.requiredClaims) {
    if (payload[claim] === undefined) throw new ClaimInvalidError(claim, `missing required "${claim}" claim`);
  }
  const tolerance = rules.clockTolerance;
  const exp = numeric(payload, 'exp');
  if (exp !== undefined && nowSeconds >= exp + tolerance) throw new TokenExpiredError();
  const nbf = numeric(payload, 'nbf');
  if (nbf !== undefined && nbf > nowSeconds + tolerance) throw new TokenNotYetValidError();
  const iat = numeric(payload, 'iat');
  if (iat !== undefined && iat > nowSeconds + tolerance && (rules.checkIssuedAt || rules.maxTokenAge !== undefined)) {
    throw new ClaimInvalidError('iat', '"iat" claim lies in the future');
  }
  if (rules.maxTokenAge !== undefined) {
    if (iat === undefined) throw new ClaimInvalidError('iat', 'missing required "iat" claim');
    if (nowSeconds - iat > rules.maxTokenAge + tolerance) throw new TokenExpiredError('token too old');
  }

  const iss = payload.iss;
  if (iss !== undefined && (typeof iss !== 'string' || (rules.issuers !== undefined && !rules.issuers.has(iss)))) {
    throw new ClaimInvalidError('iss', 'unexpected "iss" claim');
  }

  const aud = payload.aud;
  if (aud !== undefined) {
    const audiences = rules.audiences;
    let matched = false;
    if (typeof aud === 'string') matched = audiences === undefined || audiences.has(aud);
    else if (Array.isArray(aud)) {
      matched = audiences === undefined ? aud.every((entry) => typeof entry === 'string') : aud.some((entry) => typeof entry === 'string' && audiences.has(entry));
    }
    if (!matched) throw new ClaimInvalidError('aud', 'unexpected "aud" claim');
  }

  if (payload.sub !== undefined && typeof payload.sub !== 'string') throw new ClaimInvalidError('sub', '"sub" claim must be a string');
  // The moment (seconds) after which this token stops being acceptable.
  let validUntil = exp === undefined ? Number.POSITIVE_INFINITY : exp + tolerance;
  if (rules.maxTokenAge !== undefined && iat !== undefined) validUntil = Math.min(validUntil, iat + rules.maxTokenAge + tolerance);
  return validUntil;
}
