/**
 * Error codes the identity service sends, as Supabase Auth (GoTrue) names them. Clients switch on
 * these (`AuthApiError.code` in supabase-js), so they never change.
 */
export type IdentityErrorCode =
  | 'validation_failed'
  | 'bad_json'
  | 'invalid_credentials'
  | 'email_not_confirmed'
  | 'phone_not_confirmed'
  | 'no_authorization'
  | 'bad_jwt'
  | 'not_admin'
  | 'user_not_found'
  | 'session_not_found'
  | 'session_expired'
  | 'refresh_token_not_found'
  | 'refresh_token_already_used'
  | 'user_banned'
  | 'user_already_exists'
  | 'email_exists'
  | 'phone_exists'
  | 'weak_password'
  | 'same_password'
  | 'reauthentication_needed'
  | 'reauthentication_not_valid'
  | 'signup_disabled'
  | 'email_provider_disabled'
  | 'phone_provider_disabled'
  | 'anonymous_provider_disabled'
  | 'over_request_rate_limit'
  | 'conflict'
  | 'not_found'
  | 'request_entity_too_large'
  | 'unexpected_failure'
  // 503 with Retry-After while the database is unreachable (Latchkey's own; supabase-js retries 503)
  | 'database_unavailable'
  // Second factors, one-time codes and providers that are not offered
  | 'mfa_verification_failed'
  | 'mfa_challenge_expired'
  | 'mfa_factor_not_found'
  | 'mfa_factor_name_conflict'
  | 'mfa_ip_address_mismatch'
  | 'too_many_enrolled_mfa_factors'
  | 'insufficient_aal'
  | 'otp_expired'
  | 'otp_disabled'
  | 'over_email_send_rate_limit'
  | 'over_sms_send_rate_limit'
  | 'sms_send_failed'
  | 'flow_state_not_found'
  | 'flow_state_expired'
  | 'bad_code_verifier'
  | 'saml_provider_disabled'
  | 'manual_linking_disabled'
  | 'web3_provider_disabled'
  | 'provider_disabled'
  | 'oauth_client_not_found'
  // Passkeys and WebAuthn second factors
  | 'passkey_disabled'
  | 'too_many_passkeys'
  | 'webauthn_challenge_not_found'
  | 'webauthn_challenge_expired'
  | 'webauthn_verification_failed'
  | 'webauthn_credential_exists'
  | 'mfa_webauthn_enroll_not_enabled'
  | 'mfa_webauthn_verify_not_enabled'
  // Sign-in with upstream OAuth / OpenID Connect providers
  | 'bad_oauth_state'
  | 'bad_oauth_callback'
  | 'flow_state_already_used'
  | 'oauth_provider_not_supported'
  | 'provider_email_needs_verification'
  | 'identity_already_exists'
  | 'identity_not_found'
  | 'single_identity_not_deletable'
  | 'email_conflict_identity_not_deletable'
  // Organizations (Latchkey's own; GoTrue has no organizations)
  | 'organization_not_found'
  | 'member_not_found'
  | 'member_exists'
  | 'insufficient_role'
  | 'last_owner'
  | 'invitation_not_found'
  | 'invitation_expired'
  | 'invitation_already_used';

/**
 * An answer the identity service gives instead of a result: HTTP status, stable code, message. Thrown
 * anywhere under a route; the error handler writes it in the format the request asked for.
 */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  readonly status: number;
  readonly code: IdentityErrorCode;
  /** Extra body fields (for example `weak_password: { reasons }`). */
  readonly extra: Readonly<Record<string, unknown>> | undefined;

  constructor(status: number, code: IdentityErrorCode, message: string, extra?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

/**
 * 429 `over_request_rate_limit` with the number of seconds to wait, sent as `Retry-After` by the
 * error handlers of `/auth/v1` and `/oauth/token`.
 */
export class RateLimitedError extends IdentityError {
  /** Whole seconds until the next attempt may be made (at least 1). */
  readonly retryAfter: number;

  constructor(retryAfter: number) {
    super(429, 'over_request_rate_limit', Messages.rateLimited);
    this.retryAfter = Math.max(1, Math.ceil(retryAfter));
  }
}

/**
 * The error codes of RFC 6749 §5.2 (`temporarily_unavailable` from §4.1.2.1, sent with 503 while the
 * database is unreachable) and RFC 8628's `slow_down` (a rate-limited client).
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'slow_down'
  | 'server_error'
  | 'temporarily_unavailable';

const OAUTH_STATUS: ReadonlyMap<string, number> = new Map([
  ['invalid_client', 401],
  ['slow_down', 429],
  ['server_error', 500],
  ['temporarily_unavailable', 503],
]);

/**
 * An OAuth 2.0 error, `{"error","error_description"}` on the wire. The token endpoint `/oauth/token`
 * answers with {@link OAuthError.status} (RFC 6749 §5.2; `WWW-Authenticate: Basic` when
 * {@link OAuthError.basicChallenge}); GoTrue's routes, which use this shape for a few token problems
 * such as a missing refresh token (GoTrue spells one code `invalid request`), always answer 400;
 * an upstream provider's refusal is passed on with its own code.
 */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  /** An {@link OAuthErrorCode}, GoTrue's `invalid request`, or an upstream provider's code. */
  readonly error: string;
  /** HTTP status on the token endpoint. Default 401 for `invalid_client`, 429 `slow_down`, 500 `server_error`, 503 `temporarily_unavailable`, else 400. */
  readonly status: number;
  /** For `invalid_client` after HTTP Basic authentication: answer 401 with `WWW-Authenticate: Basic`. Default false. */
  readonly basicChallenge: boolean;

  constructor(error: OAuthErrorCode | 'invalid request' | (string & Record<never, never>), description: string, options: { status?: number; basicChallenge?: boolean } = {}) {
    super(description);
    this.error = error;
    this.status = options.status ?? OAUTH_STATUS.get(error) ?? 400;
    this.basicChallenge = options.basicChallenge ?? false;
  }
}

/** The error messages clients and tests match on, word for word as GoTrue sends them. */
export const Messages = {
  invalidCredentials: 'Invalid login credentials',
  emailNotConfirmed: 'Email not confirmed',
  noAuthorization: 'This endpoint requires a valid Bearer token',
  notAdmin: 'User not allowed',
  userFromSubMissing: 'User from sub claim in JWT does not exist',
  sessionFromClaimMissing: 'Session from session_id claim in JWT does not exist',
  userNotFound: 'User not found',
  refreshTokenNotFound: 'Invalid Refresh Token: Refresh Token Not Found',
  refreshTokenAlreadyUsed: 'Invalid Refresh Token: Already Used',
  refreshSessionMissing: 'Invalid Refresh Token: No Valid Session Found',
  sessionExpired: 'Invalid Refresh Token: Session Expired',
  userBanned: 'User is banned',
  userAlreadyExists: 'User already registered',
  emailExists: 'A user with this email address has already been registered',
  phoneExists: 'A user with this phone number has already been registered',
  signupDisabled: 'Signups not allowed for this instance',
  emailSignupDisabled: 'Email signups are disabled',
  emailLoginDisabled: 'Email logins are disabled',
  phoneDisabled: 'Phone signups are disabled',
  phoneLoginDisabled: 'Phone logins are disabled',
  phoneNotConfirmed: 'Phone not confirmed',
  invalidPhone: 'Invalid phone number format (E.164 required)',
  anonymousDisabled: 'Anonymous sign-ins are disabled',
  rateLimited: 'Request rate limit reached',
  invalidEmail: 'Unable to validate email address: invalid format',
  samePassword: 'New password should be different from the old password.',
  concurrentRefresh: 'Too many concurrent token refresh requests on the same session or refresh token',
} as const;

export function weakPasswordError(minLength: number): IdentityError {
  return new IdentityError(422, 'weak_password', `Password should be at least ${minLength} characters.`, { weak_password: { reasons: ['length'] } });
}

export function badJwt(detail: string): IdentityError {
  return new IdentityError(403, 'bad_jwt', `invalid JWT: unable to parse or verify signature, ${detail}`);
}

export function validationFailed(message: string, status = 400): IdentityError {
  return new IdentityError(status, 'validation_failed', message);
}
