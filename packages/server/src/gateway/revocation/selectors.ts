import { revocationMatches, type Claims, type RevocationEvent } from '@latchkey/verify';
import type { GatewayClaims } from '../auth/claims.js';
import { organizationOf } from '../channels/resolve.js';

/**
 * Index keys of a token and of a revocation event. An event is filed under one selector only (its user,
 * else its sessions, else its OAuth client, else its organization); a token under all of its own. Every
 * selector of an event must match for the event to refuse a token, so the event's key is always among
 * the token's keys: looking up a token's keys finds every event that can refuse it, and looking up an
 * event's keys finds every token it can refuse — without scanning the rest.
 */
export type SelectorKey = string;

/** The keys a token is filed under. */
export function claimKeys(claims: GatewayClaims | null): SelectorKey[] {
  if (!claims) return [];
  const keys: SelectorKey[] = [];
  if (typeof claims.sub === 'string' && claims.sub !== '') keys.push(`u:${claims.sub}`);
  if (typeof claims.session_id === 'string' && claims.session_id !== '') keys.push(`s:${claims.session_id}`);
  if (typeof claims.client_id === 'string' && claims.client_id !== '') keys.push(`c:${claims.client_id}`);
  const organization = organizationOf(claims);
  if (organization !== null) keys.push(`o:${organization}`);
  return keys;
}

/** The keys an event is filed under (its most selective selector). */
export function eventKeys(event: RevocationEvent): SelectorKey[] {
  if (event.user_id !== null) return [`u:${event.user_id}`];
  if (event.session_ids !== null) return event.session_ids.map((id) => `s:${id}`);
  if (event.client_id !== null) return [`c:${event.client_id}`];
  if (event.organization_id !== null) return [`o:${event.organization_id}`];
  return [];
}

/** `revocationMatches` for gateway claims (the rule reads only `iat`, `sub`, `session_id`, `client_id` and `app_metadata`). */
export function eventRefuses(event: RevocationEvent, claims: GatewayClaims | null): boolean {
  return claims !== null && revocationMatches(event, claims as unknown as Claims);
}

/**
 * Items filed under selector keys; an item is found through any of its keys. A key with one item holds
 * it directly (most keys name one user's or one session's connection); a set is made for the second.
 */
export class SelectorIndex<T> {
  readonly #items = new Map<SelectorKey, T | Set<T>>();

  add(keys: readonly SelectorKey[], item: T): void {
    for (const key of keys) {
      const items = this.#items.get(key);
      if (items === undefined) this.#items.set(key, item);
      else if (items instanceof Set) items.add(item);
      else if (items !== item) this.#items.set(key, new Set([items, item]));
    }
  }

  delete(keys: readonly SelectorKey[], item: T): void {
    for (const key of keys) {
      const items = this.#items.get(key);
      if (items === undefined) continue;
      if (items instanceof Set) {
        items.delete(item);
        if (items.size === 0) this.#items.delete(key);
      } else if (items === item) {
        this.#items.delete(key);
      }
    }
  }

  /** Distinct items filed under any of `keys`. */
  find(keys: readonly SelectorKey[]): Set<T> {
    const found = new Set<T>();
    for (const key of keys) {
      const items = this.#items.get(key);
      if (items === undefined) continue;
      if (items instanceof Set) for (const item of items) found.add(item);
      else found.add(items);
    }
    return found;
  }

  /** Number of keys in use. */
  get size(): number {
    return this.#items.size;
  }
}
