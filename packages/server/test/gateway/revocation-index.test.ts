import type { RevocationEvent } from '@latchkey/verify';
import { describe, expect, it } from 'vitest';
import type { GatewayClaims } from '../../src/gateway/auth/claims.js';
import { MembershipCache, type MembershipSource } from '../../src/gateway/membership/cache.js';
import { KnownRevocations } from '../../src/gateway/revocation/known.js';
import { claimKeys, eventKeys, SelectorIndex } from '../../src/gateway/revocation/selectors.js';

const NOW = 2_000_000_000;
let nextId = 1;
function event(fields: Partial<RevocationEvent> & Pick<RevocationEvent, 'kind'>): RevocationEvent {
  return {
    id: String(nextId++),
    user_id: null,
    session_ids: null,
    organization_id: null,
    client_id: null,
    issued_before: NOW,
    expires_at: NOW + 3600,
    ...fields,
  };
}
const claims = (fields: Record<string, unknown>): GatewayClaims => ({ iat: NOW - 10, ...fields });

describe('revocation selectors', () => {
  it('files an event under one selector that is always among the keys of the tokens it matches', () => {
    expect(eventKeys(event({ kind: 'logout', user_id: 'u1', session_ids: ['s1'] }))).toEqual(['u:u1']);
    expect(eventKeys(event({ kind: 'session_revoked', session_ids: ['s1', 's2'] }))).toEqual(['s:s1', 's:s2']);
    expect(eventKeys(event({ kind: 'oauth_client_deleted', client_id: 'reports' }))).toEqual(['c:reports']);
    expect(eventKeys(event({ kind: 'organization_deleted', organization_id: 'o1' }))).toEqual(['o:o1']);
    expect(claimKeys(claims({ sub: 'u1', session_id: 's1', client_id: 'reports', app_metadata: { organization_id: 'o1' } }))).toEqual(['u:u1', 's:s1', 'c:reports', 'o:o1']);
    expect(claimKeys(null)).toEqual([]);
  });

  it('finds among 50,000 indexed connections only those filed under the looked-up keys', () => {
    const index = new SelectorIndex<number>();
    for (let n = 0; n < 50_000; n++) index.add([`u:user-${n % 25_000}`, `s:session-${n}`], n);
    const started = performance.now();
    const found = index.find(['u:user-7']);
    const elapsed = performance.now() - started;
    expect([...found].sort((a, b) => a - b)).toEqual([7, 25_007]);
    expect(elapsed).toBeLessThan(50);
    index.delete([`u:user-7`, 's:session-7'], 7);
    expect([...index.find(['u:user-7', 's:session-7'])]).toEqual([25_007]);
  });
});

describe('known revocation events', () => {
  it('keeps each event once until it expires, and names the strongest refusal of a token', () => {
    const known = new KnownRevocations();
    const removal = event({ kind: 'membership_removed', user_id: 'u1', organization_id: 'o1' });
    expect(known.add(removal, NOW)).toBe(true);
    expect(known.add(removal, NOW)).toBe(false);
    expect(known.add(event({ kind: 'logout', user_id: 'u1', expires_at: NOW - 1 }), NOW)).toBe(false);
    const token = claims({ sub: 'u1', session_id: 's1', app_metadata: { organization_id: 'o1' } });
    expect(known.refusal(token)).toBe('end_membership');
    expect(known.membershipEnded(token, 'o1')).toBe(true);
    expect(known.membershipEnded(token, 'o2')).toBe(false);
    // A token for another organization, or issued after the event, is not refused.
    expect(known.refusal(claims({ sub: 'u1', app_metadata: { organization_id: 'o2' } }))).toBeNull();
    expect(known.refusal({ ...token, iat: NOW + 1 })).toBeNull();

    known.add(event({ kind: 'role_changed', user_id: 'u1', organization_id: 'o1' }), NOW);
    expect(known.refusal(token)).toBe('refresh_token');
    known.add(event({ kind: 'session_revoked', session_ids: ['s1'], expires_at: NOW + 10 }), NOW);
    expect(known.refusal(token)).toBe('end_session');
    expect(known.refusal({ ...token, session_id: 's2' })).toBe('refresh_token');

    known.prune(NOW + 11);
    expect(known.size).toBe(2);
    expect(known.refusal(token)).toBe('refresh_token');
    known.prune(NOW + 3601);
    expect(known.size).toBe(0);
    expect(known.refusal(token)).toBeNull();
  });
});

describe('membership cache', () => {
  function source(answer: (user: string, organization: string) => boolean) {
    const calls: string[] = [];
    const pending: (() => void)[] = [];
    let hold = false;
    const membership: MembershipSource = {
      async isMember(user, organization) {
        calls.push(`${user}/${organization}`);
        // The answer is read when asked; with `hold` it arrives only on `release` (a slow query).
        const member = answer(user, organization);
        if (hold) await new Promise<void>((resolve) => pending.push(resolve));
        return member;
      },
    };
    return {
      membership,
      calls,
      hold(value: boolean) {
        hold = value;
      },
      release() {
        for (const resolve of pending.splice(0)) resolve();
      },
    };
  }

  it('asks once per user and organization within the time to live, and shares concurrent lookups', async () => {
    let now = 0;
    const members = new Set(['u1/o1']);
    const fake = source((user, organization) => members.has(`${user}/${organization}`));
    const cache = new MembershipCache(fake.membership, 5, () => now);
    expect(await Promise.all([cache.isMember('u1', 'o1'), cache.isMember('u1', 'o1'), cache.isMember('u2', 'o1')])).toEqual([true, true, false]);
    expect(fake.calls).toEqual(['u1/o1', 'u2/o1']);
    members.delete('u1/o1');
    now = 4999;
    expect(await cache.isMember('u1', 'o1')).toBe(true);
    now = 5000;
    expect(await cache.isMember('u1', 'o1')).toBe(false);
    expect(fake.calls).toEqual(['u1/o1', 'u2/o1', 'u1/o1']);
    expect(() => new MembershipCache(fake.membership, -1)).toThrow(TypeError);
  });

  it('drops answers on the events that change membership, and keeps none asked before such an event', async () => {
    const members = new Set(['u1/o1', 'u1/o2', 'u2/o1']);
    const fake = source((user, organization) => members.has(`${user}/${organization}`));
    const cache = new MembershipCache(fake.membership, 60);
    for (const [user, organization] of [['u1', 'o1'], ['u1', 'o2'], ['u2', 'o1']] as const) await cache.isMember(user, organization);
    expect(cache.size).toBe(3);
    cache.invalidate(event({ kind: 'logout', user_id: 'u1' }));
    expect(cache.size).toBe(3);
    members.delete('u1/o1');
    cache.invalidate(event({ kind: 'membership_removed', user_id: 'u1', organization_id: 'o1' }));
    expect(cache.size).toBe(2);
    expect(await cache.isMember('u1', 'o1')).toBe(false);
    cache.invalidate(event({ kind: 'organization_deleted', organization_id: 'o1' }));
    expect(cache.size).toBe(1);
    cache.invalidate(event({ kind: 'user_banned', user_id: 'u1' }));
    expect(cache.size).toBe(0);

    // A lookup in flight when the membership ends asks again: its caller gets the answer from after the event.
    fake.hold(true);
    const inFlight = cache.isMember('u2', 'o1');
    await Promise.resolve();
    members.delete('u2/o1');
    cache.invalidate(event({ kind: 'membership_removed', user_id: 'u2', organization_id: 'o1' }));
    fake.hold(false);
    const after = cache.isMember('u2', 'o1');
    fake.release();
    expect(await after).toBe(false);
    expect(await inFlight).toBe(false);
    expect(await cache.isMember('u2', 'o1')).toBe(false);
  });

  it('passes a failed lookup on and does not keep it', async () => {
    let fail = true;
    const cache = new MembershipCache(
      {
        async isMember() {
          if (fail) throw new Error('database unavailable');
          return true;
        },
      },
      60,
    );
    await expect(cache.isMember('u1', 'o1')).rejects.toThrow('database unavailable');
    fail = false;
    expect(await cache.isMember('u1', 'o1')).toBe(true);
  });
});
