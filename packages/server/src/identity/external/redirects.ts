import { type IdentityError, OAuthError } from '../errors.js';
import type { TokenResponse } from '../types.js';

/** GoTrue's mapping of an HTTP status to the OAuth `error` of a redirect. */
const OAUTH_ERROR_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request',
  401: 'unauthorized_client',
  403: 'access_denied',
  500: 'server_error',
  503: 'temporarily_unavailable',
};

/** Codes whose refusal reads as `access_denied` whatever their status. */
const DENIED_CODES = new Set(['signup_disabled', 'user_banned', 'provider_email_needs_verification']);

/** Encodes parameters sorted by name, as GoTrue (Go's `url.Values.Encode`) writes them. */
function encodeSorted(values: Record<string, string>): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(values).sort()) params.set(key, values[key]!);
  return params.toString();
}

/** The `error`, `error_code` and `error_description` of a refusal, as GoTrue names them. */
export function redirectErrorParams(error: IdentityError | OAuthError): Record<string, string> {
  if (error instanceof OAuthError) return { error: error.error, error_description: error.message };
  const kind = DENIED_CODES.has(error.code) ? 'access_denied' : (OAUTH_ERROR_BY_STATUS[error.status] ?? 'server_error');
  return { error: kind, error_code: error.code, error_description: error.message };
}

/**
 * A refusal sent back to the app: the parameters in the query and again in the fragment (with `sb`),
 * as GoTrue's callback does. With `queryOnly` (the state could not be loaded, so the target is the site
 * URL) they are in the query alone.
 */
export function errorRedirect(target: string, error: IdentityError | OAuthError, queryOnly = false): string {
  const url = new URL(target);
  url.hash = '';
  const params = redirectErrorParams(error);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  url.searchParams.sort();
  if (queryOnly) return url.toString();
  return `${url.toString()}#${encodeSorted({ ...params, sb: '' })}`;
}

/** The implicit flow's success: the session in the fragment, with the provider's tokens. */
export function sessionRedirect(target: string, session: TokenResponse, providerToken: string, providerRefreshToken: string | undefined): string {
  const url = new URL(target);
  url.hash = '';
  const values: Record<string, string> = {
    access_token: session.access_token,
    token_type: session.token_type,
    expires_in: String(session.expires_in),
    expires_at: String(session.expires_at),
    refresh_token: session.refresh_token,
    provider_token: providerToken,
    sb: '',
  };
  if (providerRefreshToken) values.provider_refresh_token = providerRefreshToken;
  return `${url.toString()}#${encodeSorted(values)}`;
}

/** The PKCE flow's success: `?code=<authorization code>` added to the target. */
export function codeRedirect(target: string, code: string): string {
  const url = new URL(target);
  url.hash = '';
  url.searchParams.set('code', code);
  url.searchParams.sort();
  return url.toString();
}
