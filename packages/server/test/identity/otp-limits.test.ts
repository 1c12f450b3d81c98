import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { nextMail, outbox } from './outbox.js';
import { email, post, startIdentity, type IdentityServer } from './support.js';

const V2024 = { 'x-supabase-api-version': '2024-01-01' };

/** GoTrue's token hash formula: hex SHA-224 of the address followed by the code. */
function derivedHash(address: string, code: string): string {
  return createHash('sha224').update(address + code).digest('hex');
}

function wrongCode(code: string, offset: number): string {
  return String((Number(code) + offset) % 1_000_000).padStart(6, '0');
}

let clientCounter = 0;
/** A header making the request come from a client address of its own (the attacker spreads out). */
function fromNewAddress(): Record<string, string> {
  clientCounter += 1;
  return { ...V2024, 'x-forwarded-for': `198.51.100.${clientCounter % 250}` };
}

describeEachDatabase('limits on one-time codes', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database(), {
      LATCHKEY_SMTP_MAX_FREQUENCY: '0',
      LATCHKEY_RATE_LIMIT_EMAIL_SENT: '0',
      LATCHKEY_RATE_LIMIT_HEADER: 'x-forwarded-for',
      LATCHKEY_TRUSTED_PROXIES: '127.0.0.1, ::1',
      LATCHKEY_RATE_LIMIT_VERIFY: '8',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  async function mailedCode(address: string) {
    const before = await outbox(app, address);
    expect((await post(`${app.auth}/otp`, { email: address }, fromNewAddress())).status).toBe(200);
    return nextMail(app, address, before);
  }

  it('kills a code after 5 wrong guesses for its address, from any client address', async () => {
    const address = email('guessed');
    const mail = await mailedCode(address);
    for (let guess = 1; guess <= 5; guess += 1) {
      const wrong = await post(`${app.auth}/verify`, { email: address, token: wrongCode(mail.code, guess), type: 'email' }, fromNewAddress());
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('otp_expired');
    }
    const right = await post(`${app.auth}/verify`, { email: address, token: mail.code, type: 'email' }, fromNewAddress());
    expect(right.status).toBe(403);
    expect(right.body.code).toBe('otp_expired');
    // The link of the dead code is dead too.
    const hash = new URL(mail.link).searchParams.get('token')!;
    expect((await post(`${app.auth}/verify`, { token_hash: hash, type: 'email' }, fromNewAddress())).body.code).toBe('otp_expired');

  });

  it('keeps a code alive after 4 wrong guesses', async () => {
    const address = email('careless');
    const mail = await mailedCode(address);
    for (let guess = 1; guess <= 4; guess += 1) {
      expect((await post(`${app.auth}/verify`, { email: address, token: wrongCode(mail.code, guess), type: 'email' }, fromNewAddress())).status).toBe(403);
    }
    expect((await post(`${app.auth}/verify`, { email: address, token: mail.code, type: 'email' }, fromNewAddress())).status).toBe(200);
  });

  it('does not let a token_hash computed from the address and a guessed code stand in for the code', async () => {
    const address = email('hashed');
    const mail = await mailedCode(address);
    for (let guess = 1; guess <= 6; guess += 1) {
      const wrong = await post(`${app.auth}/verify`, { token_hash: derivedHash(address, wrongCode(mail.code, guess)), type: 'email' }, fromNewAddress());
      expect(wrong.status).toBe(403);
    }
    const derived = await post(`${app.auth}/verify`, { token_hash: derivedHash(address, mail.code), type: 'email' }, fromNewAddress());
    expect(derived.status).toBe(403);
    expect(derived.body.code).toBe('otp_expired');
    // The link's own hash still works (it is random, not derived from the code).
    const hash = new URL(mail.link).searchParams.get('token')!;
    expect(hash).toMatch(/^[0-9a-f]{56}$/);
    const byLink = await post(`${app.auth}/verify`, { token_hash: hash, type: 'email' }, fromNewAddress());
    expect(byLink.status).toBe(200);
    expect((byLink.body.user as { email: string }).email).toBe(address);
  });

  it('counts token_hash verification and followed links against the address', async () => {
    const address = email('budget');
    const mail = await mailedCode(address);
    // Four wrong codes (the code stays alive), then other requests fill the address's budget of 8.
    for (let guess = 1; guess <= 4; guess += 1) {
      expect((await post(`${app.auth}/verify`, { email: address, token: wrongCode(mail.code, guess), type: 'email' }, fromNewAddress())).status).toBe(403);
    }
    const second = await mailedCode(address); // replaces the first code; the budget is the address's
    for (let guess = 1; guess <= 4; guess += 1) {
      expect((await post(`${app.auth}/verify`, { email: address, token: wrongCode(second.code, guess), type: 'email' }, fromNewAddress())).status).toBe(403);
    }
    const hash = new URL(second.link).searchParams.get('token')!;
    const byHash = await post(`${app.auth}/verify`, { token_hash: hash, type: 'email' }, fromNewAddress());
    expect(byHash.status).toBe(429);
    expect(byHash.body.code).toBe('over_request_rate_limit');
    const followed = await fetch(second.link, { redirect: 'manual', headers: fromNewAddress() });
    expect(followed.status).toBe(303);
    expect(new URLSearchParams(followed.headers.get('location')!.split('#')[1]).get('error_code')).toBe('over_request_rate_limit');
  });
});
