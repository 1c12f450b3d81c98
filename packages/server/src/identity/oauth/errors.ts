/**
 * RFC 6749 §5.2 token endpoint errors: `{"error","error_description"}`. The codes are the RFC's (`temporarily_unavailable`, 503, while
 * the database is unreachable), plus `slow_down` (RFC 8628) for a rate-limited client.
 */
export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope' | 'slow_down' | 'server_error' | 'temporarily_unavailable';

/** An answer of the OAuth token endpoint other than a token. */
export class OAuthTokenError extends Error {
  override readonly name = 'OAuthTokenError';
  readonly status: number;
  readonly error: OAuthErrorCode;
  /** For `invalid_client` after HTTP Basic authentication: answer 401 with `WWW-Authenticate: Basic`. */
  readonly basicChallenge: boolean;

  constructor(error: OAuthErrorCode, description: string, options: { status?: number; basicChallenge?: boolean } = {}) {
    super(description);
    this.error = error;
    this.status = options.status ?? (error === 'invalid_client' ? 401 : error === 'slow_down' ? 429 : error === 'server_error' ? 500 : 400);
    this.basicChallenge = options.basicChallenge ?? false;
  }
}

export const OAuthMessages = {
  invalidClient: 'Client authentication failed',
  totpRequired: 'This account has two-factor authentication: a current TOTP code is required in the "totp" field',
  totpInvalid: 'Invalid TOTP code entered (wrong, expired, or already used)',
} as const;
