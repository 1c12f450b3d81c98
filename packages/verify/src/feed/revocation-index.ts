/**
 * The in-memory set of unexpired revocation events, indexed so that checking a token costs a few map
 * lookups whatever the number of events: each event is filed under its most specific selector
 * (each of its `session_ids`, else `user_id`, else `organization_id`, else `client_id`), and a token
 * is compared only with the events filed under its own `session_id`, `sub`, organization and
 * `client_id`. The rule itself is `revocationMatches`.
 *
 * @module
 */
import type { Claims } from '../jwt/claims.js';
import { revocationMatches, type RevocationEvent } from '../revocation-events.js';

type Bucket = Map<string, RevocationEvent[]>;

function file(bucket: Bucket, key: string, event: RevocationEvent): void {
  const entries = bucket.get(key);
  if (entries === undefined) bucket.set(key, [event]);
  else entries.push(event);
}

function unfile(bucket: Bucket, key: string, event: RevocationEvent): void {
  const entries = bucket.get(key);
  if (entries === undefined) return;
  const remaining = entries.filter((entry) => entry !== event);
  if (remaining.length === 0) bucket.delete(key);
  else bucket.set(key, remaining);
}

function matchesAny(entries: readonly RevocationEvent[] | undefined, claims: Claims): boolean {
  if (entries === undefined) return false;
  for (const event of entries) if (revocationMatches(event, claims)) return true;
  return false;
}

/** Internal: the feed's event store. */
export class RevocationIndex {
  readonly #byId = new Map<string, RevocationEvent>();
  readonly #bySession: Bucket = new Map();
  readonly #byUser: Bucket = new Map();
  readonly #byOrganization: Bucket = new Map();
  readonly #byClient: Bucket = new Map();
  /** Events held per `user_id`, and the number of events without one: most tokens are answered by one lookup here. */
  readonly #perUser = new Map<string, number>();
  #withoutUser = 0;

  /** Number of events held. */
  get size(): number {
    return this.#byId.size;
  }

  /**
   * Adds `event` unless it is already held or expired at `nowSeconds`. Returns `true` when it was
   * added.
   */
  add(event: RevocationEvent, nowSeconds: number): boolean {
    if (event.expires_at <= nowSeconds || this.#byId.has(event.id)) return false;
    this.#byId.set(event.id, event);
    this.#forEachKey(event, (bucket, key) => file(bucket, key, event));
    if (event.user_id === null) this.#withoutUser += 1;
    else this.#perUser.set(event.user_id, (this.#perUser.get(event.user_id) ?? 0) + 1);
    return true;
  }

  /** `true` when a held event refuses a token with these claims. */
  matches(claims: Claims): boolean {
    if (this.#byId.size === 0) return false;
    // An event naming a user refuses only that user's tokens: unless some event names no user, a
    // token whose user has no event is accepted after a single lookup.
    if (this.#withoutUser === 0 && (typeof claims.sub !== 'string' || !this.#perUser.has(claims.sub))) return false;
    const session = claims.session_id;
    if (typeof session === 'string' && matchesAny(this.#bySession.get(session), claims)) return true;
    const sub = claims.sub;
    if (typeof sub === 'string' && matchesAny(this.#byUser.get(sub), claims)) return true;
    if (this.#byOrganization.size > 0) {
      const metadata = claims.app_metadata;
      const organization = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>).organization_id : undefined;
      if (typeof organization === 'string' && matchesAny(this.#byOrganization.get(organization), claims)) return true;
    }
    const client = claims.client_id;
    return typeof client === 'string' && matchesAny(this.#byClient.get(client), claims);
  }

  /** Drops every event expired at `nowSeconds`; returns how many were dropped. */
  prune(nowSeconds: number): number {
    let dropped = 0;
    for (const [id, event] of this.#byId) {
      if (event.expires_at > nowSeconds) continue;
      this.#byId.delete(id);
      this.#forEachKey(event, (bucket, key) => unfile(bucket, key, event));
      if (event.user_id === null) this.#withoutUser -= 1;
      else {
        const left = (this.#perUser.get(event.user_id) ?? 1) - 1;
        if (left === 0) this.#perUser.delete(event.user_id);
        else this.#perUser.set(event.user_id, left);
      }
      dropped += 1;
    }
    return dropped;
  }

  #forEachKey(event: RevocationEvent, action: (bucket: Bucket, key: string) => void): void {
    if (event.session_ids !== null) {
      // A session list that names no session refuses nothing: nothing to file.
      for (const session of new Set(event.session_ids)) action(this.#bySession, session);
    } else if (event.user_id !== null) action(this.#byUser, event.user_id);
    else if (event.organization_id !== null) action(this.#byOrganization, event.organization_id);
    else if (event.client_id !== null) action(this.#byClient, event.client_id);
  }
}
