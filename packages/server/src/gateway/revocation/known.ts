import type { RevocationEvent, RevocationKind } from '@latchkey/verify';
import type { GatewayClaims } from '../auth/claims.js';
import { claimKeys, eventKeys, eventRefuses, SelectorIndex } from './selectors.js';

/**
 * What a revocation event does to a connection whose token it matches:
 * - `end_session`: the session is over; the connection closes with 4501 and a connect with such a token
 *   is refused with 4501.
 * - `end_membership`: the organization's channels end (unsubscribe 2001); a connect with such a token
 *   gets 109, so the client fetches a token that no longer carries the organization.
 * - `refresh_token`: the token's grants are stale (role); the connection closes with 3014, so the client
 *   fetches a new token and resubscribes; a connect with such a token gets 109.
 */
export type RevocationEffect = 'end_session' | 'end_membership' | 'refresh_token';

/** The effect of each kind of event. */
export const REVOCATION_EFFECTS: Readonly<Record<RevocationKind, RevocationEffect>> = {
  logout: 'end_session',
  session_revoked: 'end_session',
  user_banned: 'end_session',
  user_deleted: 'end_session',
  password_changed: 'end_session',
  refresh_token_reused: 'end_session',
  session_expired: 'end_session',
  oauth_client_deleted: 'end_session',
  membership_removed: 'end_membership',
  organization_deleted: 'end_membership',
  role_changed: 'refresh_token',
};

/**
 * The unexpired revocation events this node knows, indexed by selector, so a connect or a refresh is
 * checked against the few events that can concern its token rather than against all of them.
 */
export class KnownRevocations {
  readonly #index = new SelectorIndex<RevocationEvent>();
  readonly #events = new Map<string, RevocationEvent>();

  /** Number of events kept. */
  get size(): number {
    return this.#events.size;
  }

  /** Keeps `event` until it expires. Returns false when it was known already or has expired. */
  add(event: RevocationEvent, nowSeconds = Date.now() / 1000): boolean {
    if (this.#events.has(event.id) || event.expires_at <= nowSeconds) return false;
    this.#events.set(event.id, event);
    this.#index.add(eventKeys(event), event);
    return true;
  }

  /** Forgets events whose `expires_at` has passed: no token they refuse is still unexpired. */
  prune(nowSeconds = Date.now() / 1000): void {
    for (const event of this.#events.values()) {
      if (event.expires_at > nowSeconds) continue;
      this.#events.delete(event.id);
      this.#index.delete(eventKeys(event), event);
    }
  }

  /**
   * The strongest effect of the known events that refuse a token with `claims`
   * (`end_session` over `refresh_token` over `end_membership`), or `null` when none does.
   */
  refusal(claims: GatewayClaims | null): RevocationEffect | null {
    let strongest: RevocationEffect | null = null;
    for (const event of this.#index.find(claimKeys(claims))) {
      if (!eventRefuses(event, claims)) continue;
      const effect = REVOCATION_EFFECTS[event.kind];
      if (effect === 'end_session') return effect;
      if (effect === 'refresh_token' || strongest === null) strongest = effect;
    }
    return strongest;
  }

  /** Whether a known `end_membership` event refuses a token with `claims` for `organization`. */
  membershipEnded(claims: GatewayClaims | null, organization: string): boolean {
    for (const event of this.#index.find(claimKeys(claims))) {
      if (REVOCATION_EFFECTS[event.kind] === 'end_membership' && event.organization_id === organization && eventRefuses(event, claims)) return true;
    }
    return false;
  }
}
