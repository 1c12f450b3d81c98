import type { FactorJson } from './mfa/factors.js';

/**
 * Wire types of the identity service, shaped as Supabase Auth (GoTrue) sends them so that
 * `@supabase/supabase-js` reads them unchanged.
 */

/** How a session was authenticated; the `method` of an `amr` entry. */
export type AuthenticationMethod =
  | 'password'
  | 'otp'
  | 'oauth'
  | 'totp'
  | 'mfa/phone'
  | 'mfa/webauthn'
  | 'anonymous'
  | 'sso/saml'
  | 'magiclink'
  | 'recovery'
  | 'invite'
  | 'email/signup'
  | 'email_change'
  | 'token_refresh'
  | 'web3'
  | 'passkey';

/** Authenticator assurance level: `aal2` once a second factor was verified. */
export type AuthenticatorAssuranceLevel = 'aal1' | 'aal2';

/** One authentication event of a session (`amr` claim), newest first. */
export interface AmrEntry {
  readonly method: AuthenticationMethod | string;
  /** Seconds since the epoch. */
  readonly timestamp: number;
  readonly provider?: string;
}

/** `app_metadata`: set by the server and admins only. `organization_id` / `org_role` come from claims hooks. */
export interface AppMetadata {
  provider?: string;
  providers?: string[];
  organization_id?: string;
  org_role?: 'owner' | 'admin' | 'member';
  [key: string]: unknown;
}

/** The claims of an access token, in the order GoTrue writes them. */
export interface AccessTokenClaims {
  iss?: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  email: string;
  phone: string;
  app_metadata: AppMetadata;
  user_metadata: Record<string, unknown>;
  role: string;
  aal: AuthenticatorAssuranceLevel | string;
  amr: AmrEntry[];
  session_id: string;
  is_anonymous: boolean;
  [claim: string]: unknown;
}

/** An identity (login method) of a user. `id` is the provider's id; `identity_id` the row id. */
export interface IdentityJson {
  identity_id: string;
  id: string;
  user_id: string;
  identity_data: Record<string, unknown>;
  provider: string;
  last_sign_in_at?: string;
  created_at: string;
  updated_at: string;
  email?: string;
}

/** A user as the API returns it. Optional fields appear only when set. */
export interface UserJson {
  id: string;
  aud: string;
  role: string;
  email: string;
  email_confirmed_at?: string;
  phone: string;
  phone_confirmed_at?: string;
  invited_at?: string;
  confirmation_sent_at?: string;
  confirmed_at?: string;
  new_email?: string;
  email_change_sent_at?: string;
  new_phone?: string;
  phone_change_sent_at?: string;
  last_sign_in_at?: string;
  app_metadata: AppMetadata;
  user_metadata: Record<string, unknown>;
  identities: IdentityJson[];
  created_at: string;
  updated_at: string;
  banned_until?: string;
  deleted_at?: string;
  is_anonymous: boolean;
  /** Second factors (GoTrue omits the field when there are none). */
  factors?: FactorJson[];
}

/** What a successful login, sign-up or refresh returns. */
export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  /** Seconds until `expires_at`. */
  expires_in: number;
  /** Seconds since the epoch. */
  expires_at: number;
  refresh_token: string;
  user: UserJson;
  /** The upstream provider's access token, after a sign-in with an OAuth / OpenID Connect provider. */
  provider_token?: string;
  /** The upstream provider's refresh token, when it issued one. */
  provider_refresh_token?: string;
}
