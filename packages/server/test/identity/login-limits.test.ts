import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyRequest } from 'fastify';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { loadIdentitySettings } from '../../src/identity/settings.js';
import { clientAddress, parseTrustedProxies, NO_TRUSTED_PROXIES } from '../../src/identity/http/client-address.js';
import { LoginThrottle } from '../../src/identity/login-throttle.js';
import { RateLimitedError } from '../../src/identity/errors.js';
import { email, post, startIdentity, type IdentityServer } from './support.js';

const PASSWORD = 'correct horse battery';

function fakeRequest(remoteAddress: string, headers: Record<string, string | string[]> = {}): FastifyRequest {
  return { socket: { remoteAddress }, ip: remoteAddress, headers } as unknown as FastifyRequest;
}

describe('client address and trusted proxies', () => {
  const trusted = parseTrustedProxies({ name: 'LATCHKEY_TRUSTED_PROXIES', value: '10.0.0.0/8, 192.168.1.7, fd00::/8' });

  it('believes the forwarding header only from a trusted proxy, read from the right', () => {
    const rule = { rateLimitHeader: null, trustedProxies: trusted };
    // Not a trusted peer: the header is the client's own word.
    expect(clientAddress(fakeRequest('203.0.113.9', { 'x-forwarded-for': '1.2.3.4' }), rule)).toBe('203.0.113.9');
    // A trusted peer: the rightmost untrusted entry; what the client wrote further left is ignored.
    expect(clientAddress(fakeRequest('10.1.2.3', { 'x-forwarded-for': '6.6.6.6, 198.51.100.4, 10.9.9.9' }), rule)).toBe('198.51.100.4');
    expect(clientAddress(fakeRequest('::ffff:192.168.1.7', { 'x-forwarded-for': '198.51.100.4' }), rule)).toBe('198.51.100.4');
    expect(clientAddress(fakeRequest('fd00::1', { 'x-forwarded-for': ['198.51.100.4', '10.0.0.2'] }), rule)).toBe('198.51.100.4');
    // Garbage stops the walk at the last trusted hop; no header leaves the peer.
    expect(clientAddress(fakeRequest('10.1.2.3', { 'x-forwarded-for': 'nonsense, 10.0.0.5' }), rule)).toBe('10.0.0.5');
    expect(clientAddress(fakeRequest('10.1.2.3'), rule)).toBe('10.1.2.3');
    // Another header when configured.
    expect(clientAddress(fakeRequest('10.1.2.3', { 'x-real-ip': '198.51.100.8', 'x-forwarded-for': '1.1.1.1' }), { rateLimitHeader: 'x-real-ip', trustedProxies: trusted })).toBe('198.51.100.8');
    // Without trusted proxies the configured header is never believed.
    expect(clientAddress(fakeRequest('127.0.0.1', { 'x-forwarded-for': '1.2.3.4' }), { rateLimitHeader: 'x-forwarded-for', trustedProxies: NO_TRUSTED_PROXIES })).toBe('127.0.0.1');
  });

  it('validates the setting at start, naming the variable', () => {
    expect(loadIdentitySettings({}).trustedProxies.entries).toEqual([]);
    expect(loadIdentitySettings({ LATCHKEY_TRUSTED_PROXIES: '127.0.0.1, ::1, 10.0.0.0/8' }).trustedProxies.entries).toEqual(['127.0.0.1', '::1', '10.0.0.0/8']);
    expect(() => loadIdentitySettings({ LATCHKEY_TRUSTED_PROXIES: 'proxy.internal' })).toThrow(/^LATCHKEY_TRUSTED_PROXIES: must list IP addresses or CIDR ranges/);
    expect(() => loadIdentitySettings({ LATCHKEY_TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/^LATCHKEY_TRUSTED_PROXIES: bad prefix length/);
    expect(() => loadIdentitySettings({ LATCHKEY_CORS_ALLOWED_ORIGINS: 'https://app.example.com/path' })).toThrow(/^LATCHKEY_CORS_ALLOWED_ORIGINS: must list origins/);
    expect(() => loadIdentitySettings({ LATCHKEY_LOGIN_ACCOUNT_FAILURES: '-1' })).toThrow(/^LATCHKEY_LOGIN_ACCOUNT_FAILURES/);
  });
});

describeEachDatabase('login limits', (database) => {
  let identity: IdentityServer;
  const victim = email('victim');

  beforeAll(async () => {
    identity = await startIdentity(database(), { LATCHKEY_TRUSTED_PROXIES: '127.0.0.1, ::1', LATCHKEY_LOGIN_DELAY: '30' });
    const { error } = await identity.client().auth.signUp({ email: victim, password: PASSWORD });
    expect(error).toBeNull();
  });

  afterAll(async () => {
    await identity?.close();
  });

  const login = (address: string, account: string, password: string) =>
    post(`${identity.auth}/token?grant_type=password`, { email: account, password }, { 'x-forwarded-for': address, 'x-supabase-api-version': '2024-01-01' });

  it('34 wrong passwords from one address do not lock the real user out from another address', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof login>> | null = null;
    for (let i = 0; i < 34; i += 1) {
      const answer = await login('198.51.100.1', victim, `wrong-${i}`);
      statuses.push(answer.status);
      if (answer.status === 429) limited = answer;
    }
    expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 400]);
    expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
    expect(limited!.body).toEqual({ code: 'over_request_rate_limit', message: 'Request rate limit reached' });
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Even the right password waits from the attacking address…
    expect((await login('198.51.100.1', victim, PASSWORD)).status).toBe(429);

    // …but the owner, from an address that has not failed, signs in — with supabase-js too.
    expect((await login('203.0.113.50', victim, PASSWORD)).status).toBe(200);
    const { data, error } = await identity.client().auth.signInWithPassword({ email: victim, password: PASSWORD });
    expect(error).toBeNull();
    expect(data.session?.access_token).toBeTruthy();
  }, 120_000);

  it('10 addresses × 5 guesses are limited per account, and unknown accounts are counted alike', async () => {
    for (const account of [email('target'), email('nobody')]) {
      if (account.startsWith('target')) await identity.client().auth.signUp({ email: account, password: PASSWORD });
      const statuses: number[] = [];
      for (let address = 0; address < 10; address += 1) {
        for (let guess = 0; guess < 5; guess += 1) statuses.push((await login(`192.0.2.${address + 10}`, account, `guess-${address}-${guess}`)).status);
      }
      const tried = statuses.filter((status) => status === 400).length;
      // The first address spends the account's 5 failures; every further address gets one attempt.
      expect(tried).toBe(5 + 9);
      expect(statuses.filter((status) => status === 429).length).toBe(50 - tried);
    }
  }, 120_000);

  it('limits one address across accounts', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i += 1) statuses.push((await login('198.51.100.77', email('spray'), 'wrong')).status);
    expect(statuses.slice(0, 20).every((status) => status === 400)).toBe(true);
    expect(statuses.slice(20).every((status) => status === 429)).toBe(true);
  }, 120_000);

  it('applies to the OAuth token endpoint, answered slow_down with Retry-After', async () => {
    const account = email('oauth');
    await identity.client().auth.signUp({ email: account, password: PASSWORD });
    const form = (password: string) =>
      fetch(`${identity.auth}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.200' },
        body: new URLSearchParams({ grant_type: 'password', username: account, password }),
      });
    for (let i = 0; i < 5; i += 1) expect((await form('wrong')).status).toBe(400);
    const limited = await form('wrong');
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: 'slow_down' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('shares the counts between nodes on the same database', async () => {
    const other = await startIdentity(database(), { LATCHKEY_TRUSTED_PROXIES: '127.0.0.1, ::1', LATCHKEY_LOGIN_DELAY: '30' });
    try {
      const account = email('nodes');
      const at = (node: IdentityServer, password: string) =>
        post(`${node.auth}/token?grant_type=password`, { email: account, password }, { 'x-forwarded-for': '198.51.100.99' });
      for (let i = 0; i < 5; i += 1) expect((await at(i % 2 === 0 ? identity : other, 'wrong')).status).toBe(400);
      expect((await at(other, 'wrong')).status).toBe(429);
      expect((await at(identity, 'wrong')).status).toBe(429);
    } finally {
      await other.close();
    }
  });

  it('waits grow exponentially, and failures are forgotten after the window', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const throttle = new LoginThrottle(database(), { loginAccountFailures: 3, loginAddressFailures: 0, loginDelay: 1, loginMaxDelay: 8, loginFailureWindow: 3600 }, () => now);
    const account = email('clock');
    const fail = () => throttle.begin(account, '198.51.100.3');
    const waitOf = async () => {
      try {
        await fail();
        return 0;
      } catch (error) {
        expect(error).toBeInstanceOf(RateLimitedError);
        return (error as RateLimitedError).retryAfter;
      }
    };
    for (let i = 0; i < 3; i += 1) await fail();
    const waits: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const wait = await waitOf();
      waits.push(wait);
      now += wait * 1000;
      await fail();
    }
    expect(waits).toEqual([1, 2, 4, 8, 8]);
    now += 3601_000;
    expect(await waitOf()).toBe(0);
    // A success from the failing address clears that address's mark.
    for (let i = 0; i < 2; i += 1) await fail();
    expect(await waitOf()).toBe(1);
    now += 60_000;
    const attempt = await fail();
    await attempt.succeeded();
    expect(await waitOf()).toBe(0);
  });

  it('counts concurrent guesses one at a time: none slips past the threshold', async () => {
    const throttle = new LoginThrottle(database(), { loginAccountFailures: 0, loginAddressFailures: 3, loginDelay: 60, loginMaxDelay: 60, loginFailureWindow: 3600 });
    const address = '198.51.100.178';
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => throttle.begin(email(`race${i}`), address)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(3);
    for (const outcome of outcomes) if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(RateLimitedError);
  });
});
