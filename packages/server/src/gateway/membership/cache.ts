import type { RevocationEvent, RevocationKind } from '@latchkey/verify';
import type { Queryable } from '../../db/index.js';

/** Answers whether a user currently belongs to an organization. */
export interface MembershipSource {
  isMember(user: string, organization: string): Promise<boolean>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Membership as the organizations tables say it: a row in `auth.organization_members` of a user who is
 * neither deleted nor banned. Ids that are not UUIDs belong to no organization (no query is made).
 */
export function databaseMembership(db: Queryable): MembershipSource {
  return {
    async isMember(user, organization) {
      if (!UUID.test(user) || !UUID.test(organization)) return false;
      const { rows } = await db.query(
        `select 1 from auth.organization_members m join auth.users u on u.id = m.user_id
          where m.organization_id = $1 and m.user_id = $2
            and u.deleted_at is null and (u.banned_until is null or u.banned_until <= now())`,
        [organization, user],
      );
      return rows.length > 0;
    },
  };
}

/** Event kinds after which a cached answer may be wrong. */
const INVALIDATING_KINDS: ReadonlySet<RevocationKind> = new Set(['membership_removed', 'role_changed', 'organization_deleted', 'user_deleted', 'user_banned']);

interface Entry {
  readonly member: boolean;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

/**
 * A node's short-lived memory of membership answers, keyed by user and organization, so subscribes,
 * presence calls and refreshes of many connections do not each query the database. Concurrent lookups of
 * one pair share one query. Entries live `ttlSeconds` and are dropped at once by the events that change
 * membership ({@link MembershipCache.invalidate}); a query that was in flight when such an event
 * arrived is asked again, so no caller gets an answer from before the event.
 */
export class MembershipCache {
  readonly #source: MembershipSource;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** user → organization → entry. */
  readonly #entries = new Map<string, Map<string, Entry>>();
  readonly #inFlight = new Map<string, Promise<boolean>>();
  /** Bumped by every invalidation; a lookup that started under an older generation is not cached. */
  #generation = 0;
  #size = 0;
  #pruneAt = 1024;

  /** `ttlSeconds` 0 disables caching (every lookup queries). */
  constructor(source: MembershipSource, ttlSeconds: number, now: () => number = Date.now) {
    if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) throw new TypeError('ttlSeconds must be a number >= 0');
    this.#source = source;
    this.#ttlMs = ttlSeconds * 1000;
    this.#now = now;
  }

  /** Number of cached answers. */
  get size(): number {
    return this.#size;
  }

  async isMember(user: string, organization: string): Promise<boolean> {
    const entry = this.#entries.get(user)?.get(organization);
    if (entry && entry.expiresAt > this.#now()) return entry.member;
    const key = `${user}\u0000${organization}`;
    let lookup = this.#inFlight.get(key);
    if (!lookup) {
      const generation = this.#generation;
      const query: Promise<boolean> = this.#source
        .isMember(user, organization)
        .then((member) => {
          // Asked before an event that may have changed it: ask again, after the event (not kept either).
          if (generation !== this.#generation) return this.#source.isMember(user, organization);
          if (this.#ttlMs > 0) this.#set(user, organization, member);
          return member;
        })
        .finally(() => {
          if (this.#inFlight.get(key) === query) this.#inFlight.delete(key);
        });
      lookup = query;
      this.#inFlight.set(key, lookup);
    }
    return lookup;
  }

  /** Drops the answers `event` may have changed (by its user and organization; kinds that do not touch membership are ignored). */
  invalidate(event: RevocationEvent): void {
    if (!INVALIDATING_KINDS.has(event.kind)) return;
    this.#generation += 1;
    // Lookups in flight were asked before the change: later callers must ask again.
    this.#inFlight.clear();
    const { user_id: user, organization_id: organization } = event;
    if (user !== null) {
      const organizations = this.#entries.get(user);
      if (!organizations) return;
      if (organization === null) {
        this.#size -= organizations.size;
        this.#entries.delete(user);
      } else if (organizations.delete(organization)) {
        this.#size -= 1;
        if (organizations.size === 0) this.#entries.delete(user);
      }
      return;
    }
    if (organization === null) return;
    for (const [member, organizations] of this.#entries) {
      if (!organizations.delete(organization)) continue;
      this.#size -= 1;
      if (organizations.size === 0) this.#entries.delete(member);
    }
  }

  #set(user: string, organization: string, member: boolean): void {
    let organizations = this.#entries.get(user);
    if (!organizations) {
      organizations = new Map();
      this.#entries.set(user, organizations);
    }
    if (!organizations.has(organization)) this.#size += 1;
    organizations.set(organization, { member, expiresAt: this.#now() + this.#ttlMs });
    if (this.#size >= this.#pruneAt) this.#prune();
  }

  /** Drops expired answers; runs when the cache has doubled since the last pass. */
  #prune(): void {
    const now = this.#now();
    for (const [user, organizations] of this.#entries) {
      for (const [organization, entry] of organizations) {
        if (entry.expiresAt > now) continue;
        organizations.delete(organization);
        this.#size -= 1;
      }
      if (organizations.size === 0) this.#entries.delete(user);
    }
    this.#pruneAt = Math.max(1024, this.#size * 2);
  }
}
