import type { RateLimiter } from '../rate-limit.js';
import type { IdentityRuntime } from '../runtime.js';

/**
 * Who asks for a token, whatever the wire (`/token`, `/oauth/token`, the socket's `auth.*` methods): the
 * client address with trusted-proxy rules applied (rate limits, the login throttle, the audit log and
 * the new session use it) and the user agent the session keeps.
 */
export interface GrantCaller {
  readonly ip: string;
  readonly userAgent?: string | undefined;
}

/** What every grant works with: the identity service's runtime and the grant service's own limits. */
export interface GrantContext {
  readonly runtime: IdentityRuntime;
  /** Whether phone numbers may sign in with a password (`LATCHKEY_SMS_*` / `GOTRUE_EXTERNAL_PHONE_ENABLED`). */
  readonly phoneEnabled: boolean;
  /** TOTP codes checked with a password, per user: 15 at once, then 15 a minute. */
  readonly secondFactorAttempts: RateLimiter;
}

/**
 * One grant: `admit` runs before the input is read (the per-address rate limit, so a refused request
 * costs nothing and a malformed one still counts), then `issue` checks the input and issues the tokens.
 * Refusals are `IdentityError` (GoTrue's codes) or `OAuthError`; each wire writes them in its format.
 */
export interface Grant<TInput, TResult> {
  admit?(context: GrantContext, caller: GrantCaller): void;
  issue(context: GrantContext, input: TInput, caller: GrantCaller): Promise<TResult>;
}
