/**
 * Revocation events: what the identity service announces when a session or a grant ends, on its
 * revocation feed and through the broker, and the one rule that decides which access tokens an event
 * refuses. The gateway and `@latchkey/verify` apply the same rule.
 *
 * @module
 */
import type { Claims } from './jwt/claims.js';

/** Why access ended. Each kind is written by exactly one kind of change in the identity service. */
export type RevocationKind =
  /** `POST /logout` (any scope). */
  | 'logout'
  /** A session ended by its user or an admin from the session list. */
  | 'session_revoked'
  /** A user banned by an admin. */
  | 'user_banned'
  /** A user deleted (hard or soft). */
  | 'user_deleted'
  /** A password change that ends the user's other sessions. */
  | 'password_changed'
  /** A refresh token reused outside the reuse interval: its whole session family is revoked. */
  | 'refresh_token_reused'
  /** A session past its timebox or inactivity timeout. */
  | 'session_expired'
  /** A member removed from an organization. */
  | 'membership_removed'
  /** A member's role in an organization changed (their tokens carry the old `org_role`). */
  | 'role_changed'
  /** An organization deleted. */
  | 'organization_deleted'
  /** An OAuth client deleted: its client-credentials tokens end. */
  | 'oauth_client_deleted';

/** Every {@link RevocationKind}, for validation. */
export const REVOCATION_KINDS: readonly RevocationKind[] = [
  'logout',
  'session_revoked',
  'user_banned',
  'user_deleted',
  'password_changed',
  'refresh_token_reused',
  'session_expired',
  'membership_removed',
  'role_changed',
  'organization_deleted',
  'oauth_client_deleted',
];

/**
 * One revocation event as it travels on the wire (the feed's `data:` lines and the broker's messages).
 * Selectors that are `null` match everything; those that are set must all match.
 */
export interface RevocationEvent {
  /** Increasing id (a decimal string: a PostgreSQL `bigint`). Resume a feed after it. */
  readonly id: string;
  readonly kind: RevocationKind;
  /** Tokens whose `sub` is this user. */
  readonly user_id: string | null;
  /** Tokens whose `session_id` is one of these. */
  readonly session_ids: readonly string[] | null;
  /** Tokens whose `app_metadata.organization_id` is this organization. */
  readonly organization_id: string | null;
  /** Tokens whose `client_id` is this OAuth client. */
  readonly client_id: string | null;
  /**
   * Seconds since the epoch: tokens issued (`iat`) at or before this moment are refused; later ones
   * (a new sign-in after an unban, a refreshed token with the new role) are not.
   */
  readonly issued_before: number;
  /** Seconds since the epoch after which no token the event refuses can still be unexpired. */
  readonly expires_at: number;
}

function organizationOf(claims: Claims): unknown {
  const metadata = claims.app_metadata;
  return typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>).organization_id : undefined;
}

/**
 * The rule: `true` when `event` refuses a token with these claims. A token without `iat` counts as
 * issued before every event.
 *
 * @example
 * ```ts
 * if (events.some((event) => revocationMatches(event, claims))) throw new TokenRevokedError();
 * ```
 */
export function revocationMatches(event: RevocationEvent, claims: Claims): boolean {
  const iat = typeof claims.iat === 'number' ? claims.iat : Number.NEGATIVE_INFINITY;
  if (iat > event.issued_before) return false;
  if (event.user_id !== null && claims.sub !== event.user_id) return false;
  if (event.session_ids !== null && (typeof claims.session_id !== 'string' || !event.session_ids.includes(claims.session_id))) return false;
  if (event.organization_id !== null && organizationOf(claims) !== event.organization_id) return false;
  if (event.client_id !== null && claims.client_id !== event.client_id) return false;
  return true;
}

function nullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/**
 * Parses one event from its JSON form; `null` when it is not a well-formed event (unknown kind,
 * wrong types, no selector at all). Never throws.
 */
export function parseRevocationEvent(value: unknown): RevocationEvent | null {
  if (typeof value !== 'object' || value === null) return null;
  const event = value as Record<string, unknown>;
  if (typeof event.id !== 'string' || !/^[0-9]{1,19}$/.test(event.id)) return null;
  if (typeof event.kind !== 'string' || !(REVOCATION_KINDS as readonly string[]).includes(event.kind)) return null;
  if (!nullableString(event.user_id) || !nullableString(event.organization_id) || !nullableString(event.client_id)) return null;
  const sessions = event.session_ids;
  if (sessions !== null && !(Array.isArray(sessions) && sessions.every((entry) => typeof entry === 'string'))) return null;
  if (typeof event.issued_before !== 'number' || !Number.isFinite(event.issued_before)) return null;
  if (typeof event.expires_at !== 'number' || !Number.isFinite(event.expires_at)) return null;
  if (event.user_id === null && sessions === null && event.organization_id === null && event.client_id === null) return null;
  return {
    id: event.id,
    kind: event.kind as RevocationKind,
    user_id: event.user_id,
    session_ids: sessions as readonly string[] | null,
    organization_id: event.organization_id,
    client_id: event.client_id,
    issued_before: event.issued_before,
    expires_at: event.expires_at,
  };
}
