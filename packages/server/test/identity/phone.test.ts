import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { claimsOf, post, startIdentity, type IdentityServer } from './support.js';
import { lastSms, phoneNumber, smsOutbox } from './sms.js';

const PHONE_ENV = {
  GOTRUE_EXTERNAL_PHONE_ENABLED: 'true',
  GOTRUE_SMS_MAX_FREQUENCY: '0',
  GOTRUE_RATE_LIMIT_SMS_SENT: '0',
  LATCHKEY_RATE_LIMIT_VERIFY: '0',
};
const PASSWORD = 'phone-password-1';
const digits = (phone: string) => phone.slice(1);

describeEachDatabase('phone sign-in with texted codes', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database(), PHONE_ENV);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('signs in with a texted code (signInWithOtp + verifyOtp type sms); the code works once', async () => {
    const phone = phoneNumber();
    const client = app.client();
    const sent = await client.auth.signInWithOtp({ phone, options: { data: { plan: 'free' } } });
    expect(sent.error).toBeNull();
    const sms = await lastSms(app, phone);
    expect(sms).toMatchObject({ to: phone, channel: 'sms' });
    expect(sms.body).toBe(`Your code is ${sms.code}`);
    expect(sent.data.messageId).toBe(`outbox-${sms.id}`);

    const verified = await client.auth.verifyOtp({ phone, token: sms.code, type: 'sms' });
    expect(verified.error).toBeNull();
    expect(verified.data.user).toMatchObject({ phone: digits(phone), email: '', app_metadata: { provider: 'phone', providers: ['phone'] } });
    expect(verified.data.user!.user_metadata).toMatchObject({ plan: 'free' });
    expect(verified.data.user!.phone_confirmed_at).toEqual(expect.any(String));
    expect(verified.data.user!.identities).toEqual([expect.objectContaining({ provider: 'phone', identity_data: expect.objectContaining({ phone: digits(phone), phone_verified: true }) })]);
    const claims = claimsOf(verified.data.session!.access_token);
    expect(claims).toMatchObject({ phone: digits(phone), aal: 'aal1' });
    expect((claims.amr as { method: string }[])[0]!.method).toBe('otp');

    const again = await client.auth.verifyOtp({ phone, token: sms.code, type: 'sms' });
    expect(again.error).toMatchObject({ status: 403, code: 'otp_expired', message: 'Token has expired or is invalid' });

    // A returning user gets a new code; the account is the same.
    await client.auth.signInWithOtp({ phone });
    const next = await lastSms(app, phone);
    expect(next.id).toBeGreaterThan(sms.id);
    const second = await client.auth.verifyOtp({ phone, token: next.code, type: 'sms' });
    expect(second.data.user!.id).toBe(verified.data.user!.id);
  });

  it('refuses malformed numbers with GoTrue\'s E.164 message, and wrong or foreign codes as expired', async () => {
    const client = app.client();
    for (const bad of ['1', '+0123456789', '555-1234-abc', '+1234567890123456']) {
      const refused = await client.auth.signInWithOtp({ phone: bad });
      expect(refused.error).toMatchObject({ status: 400, code: 'validation_failed', message: 'Invalid phone number format (E.164 required)' });
    }
    const verifyBad = await client.auth.verifyOtp({ phone: 'abc', token: '123456', type: 'sms' });
    expect(verifyBad.error?.message).toBe('Invalid phone number format (E.164 required)');

    const phone = phoneNumber();
    const other = phoneNumber();
    await client.auth.signInWithOtp({ phone });
    await client.auth.signInWithOtp({ phone: other });
    const code = (await lastSms(app, phone)).code;
    const wrong = code === '000000' ? '111111' : '000000';
    expect((await client.auth.verifyOtp({ phone, token: wrong, type: 'sms' })).error).toMatchObject({ code: 'otp_expired', message: 'Token has expired or is invalid' });
    // The code of one number does not open another number's account.
    expect((await client.auth.verifyOtp({ phone: other, token: code, type: 'sms' })).error?.code).toBe('otp_expired');
    // Nor does an sms code confirm a phone change.
    expect((await client.auth.verifyOtp({ phone, token: code, type: 'phone_change' })).error?.code).toBe('otp_expired');
    expect((await client.auth.verifyOtp({ phone, token: code, type: 'sms' })).error).toBeNull();
  });

  it('answers otp_disabled for an unknown number when shouldCreateUser is false, and creates nobody', async () => {
    const phone = phoneNumber();
    const refused = await app.client().auth.signInWithOtp({ phone, options: { shouldCreateUser: false } });
    expect(refused.error).toMatchObject({ status: 422, code: 'otp_disabled', message: 'Signups not allowed for otp' });
    expect(await smsOutbox(app, phone)).toEqual([]);
  });

  it('signs up with phone and password: the number is confirmed by its code before password logins work', async () => {
    const phone = phoneNumber();
    const client = app.client();
    const signedUp = await client.auth.signUp({ phone, password: PASSWORD });
    expect(signedUp.error).toBeNull();
    expect(signedUp.data.session).toBeNull();
    expect(signedUp.data.user).toMatchObject({ phone: digits(phone) });
    expect(signedUp.data.user!.phone_confirmed_at).toBeUndefined();

    const early = await client.auth.signInWithPassword({ phone, password: PASSWORD });
    expect(early.error).toMatchObject({ status: 400, code: 'phone_not_confirmed', message: 'Phone not confirmed' });
    expect((await client.auth.signUp({ phone, password: PASSWORD })).error).toBeNull(); // unconfirmed: a new code

    const code = (await lastSms(app, phone)).code;
    expect((await client.auth.verifyOtp({ phone, token: code, type: 'sms' })).error).toBeNull();
    const login = await client.auth.signInWithPassword({ phone, password: PASSWORD });
    expect(login.error).toBeNull();
    expect(claimsOf(login.data.session!.access_token).phone).toBe(digits(phone));
    expect((await client.auth.signInWithPassword({ phone, password: 'wrong-password-1' })).error?.code).toBe('invalid_credentials');
    expect((await client.auth.signUp({ phone, password: PASSWORD })).error).toMatchObject({ status: 422, code: 'user_already_exists' });

    // A resend for a confirmed number sends nothing.
    const before = (await smsOutbox(app, phone)).length;
    expect((await client.auth.resend({ phone, type: 'sms' })).error).toBeNull();
    expect((await smsOutbox(app, phone)).length).toBe(before);
  });

  it('changes the number only once the code texted to the new number is confirmed (updateUser + verifyOtp phone_change)', async () => {
    const phone = phoneNumber();
    const next = phoneNumber();
    const client = app.client();
    await client.auth.signInWithOtp({ phone });
    const signedIn = await client.auth.verifyOtp({ phone, token: (await lastSms(app, phone)).code, type: 'sms' });
    const userClient = app.client();
    await userClient.auth.setSession(signedIn.data.session!);

    const taken = phoneNumber();
    await client.auth.signInWithOtp({ phone: taken });
    expect((await userClient.auth.updateUser({ phone: taken })).error).toMatchObject({ status: 422, code: 'phone_exists' });
    expect((await userClient.auth.updateUser({ phone: 'not-a-number' })).error?.message).toBe('Invalid phone number format (E.164 required)');

    const asked = await userClient.auth.updateUser({ phone: next });
    expect(asked.error).toBeNull();
    expect(asked.data.user).toMatchObject({ phone: digits(phone), new_phone: digits(next) });
    expect((asked.data.user as unknown as Record<string, unknown>).phone_change_sent_at).toEqual(expect.any(String));

    // The resend goes to the new number again, with a new code; the old one stops working.
    const first = await lastSms(app, next);
    expect((await client.auth.resend({ phone: next, type: 'phone_change' })).error).toBeNull();
    const code = (await lastSms(app, next)).code;
    expect((await client.auth.verifyOtp({ phone: next, token: first.code === code ? '999999' : first.code, type: 'phone_change' })).error?.code).toBe('otp_expired');
    // The code is bound to the new number: presented for the old one it does nothing.
    expect((await client.auth.verifyOtp({ phone, token: code, type: 'phone_change' })).error?.code).toBe('otp_expired');

    const changed = await client.auth.verifyOtp({ phone: next, token: code, type: 'phone_change' });
    expect(changed.error).toBeNull();
    expect(changed.data.user).toMatchObject({ id: signedIn.data.user!.id, phone: digits(next) });
    expect(changed.data.user!.new_phone).toBeUndefined();
    const { data } = await app.admin().auth.admin.getUserById(signedIn.data.user!.id);
    expect(data.user!.identities!.find((identity) => identity.provider === 'phone')!.identity_data).toMatchObject({ phone: digits(next), phone_verified: true });
  });

  it('announces phone sign-in in /settings and keeps codes in the admin SMS outbox', async () => {
    const settings = (await (await fetch(`${app.auth}/settings`)).json()) as { external: { phone: boolean }; phone_autoconfirm: boolean; sms_provider: string };
    expect(settings).toMatchObject({ external: { phone: true }, phone_autoconfirm: false, sms_provider: '' });
    const anonymous = await fetch(`${app.auth}/admin/sms`, { headers: { authorization: `Bearer ${app.anonKey}` } });
    expect(anonymous.status).toBe(403);
    const badLimit = await fetch(`${app.auth}/admin/sms?limit=x`, { headers: { authorization: `Bearer ${app.serviceRoleKey}` } });
    expect(badLimit.status).toBe(400);
  });
});

describeEachDatabase('phone code limits and expiry', (database) => {
  let app: IdentityServer;
  beforeAll(async () => {
    app = await startIdentity(database(), {
      GOTRUE_EXTERNAL_PHONE_ENABLED: 'true',
      GOTRUE_SMS_MAX_FREQUENCY: '60s',
      GOTRUE_RATE_LIMIT_SMS_SENT: '3',
      GOTRUE_SMS_OTP_EXP: '1',
      LATCHKEY_RATE_LIMIT_VERIFY: '0',
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('limits messages per number and per client, and lets codes expire after SMS_OTP_EXP', async () => {
    const phone = phoneNumber();
    const client = app.client();
    expect((await client.auth.signInWithOtp({ phone })).error).toBeNull();
    const code = (await lastSms(app, phone)).code;
    const again = await client.auth.signInWithOtp({ phone });
    expect(again.error).toMatchObject({ status: 429, code: 'over_sms_send_rate_limit', message: 'For security purposes, you can only request this after 60 seconds.' });
    expect((await smsOutbox(app, phone)).length).toBe(1);

    expect((await client.auth.signInWithOtp({ phone: phoneNumber() })).error).toBeNull();
    expect((await client.auth.signInWithOtp({ phone: phoneNumber() })).error).toBeNull();
    const overClient = await client.auth.signInWithOtp({ phone: phoneNumber() });
    expect(overClient.error).toMatchObject({ status: 429, code: 'over_sms_send_rate_limit', message: 'SMS rate limit exceeded' });

    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await client.auth.verifyOtp({ phone, token: code, type: 'sms' })).error).toMatchObject({ code: 'otp_expired', message: 'Token has expired or is invalid' });
  });

  it('answers GoTrue\'s refusals when phone sign-in is off', async () => {
    const off = await startIdentity(database());
    try {
      const phone = phoneNumber();
      const client = off.client();
      expect((await client.auth.signInWithOtp({ phone })).error).toMatchObject({ status: 422, code: 'phone_provider_disabled' });
      expect((await client.auth.signUp({ phone, password: PASSWORD })).error).toMatchObject({ status: 422, code: 'phone_provider_disabled' });
      expect((await client.auth.signInWithPassword({ phone, password: PASSWORD })).error).toMatchObject({ status: 400, code: 'phone_provider_disabled', message: 'Phone logins are disabled' });
      expect((await (await fetch(`${off.auth}/settings`)).json()) as unknown).toMatchObject({ external: { phone: false } });
    } finally {
      await off.close();
    }
  });
});

/** An HTTP server in the shape of Twilio's Messages API, keeping what it was sent. */
async function startTwilio(): Promise<{ url: string; received: { path: string; authorization: string; form: URLSearchParams }[]; close(): Promise<void> }> {
  const received: { path: string; authorization: string; form: URLSearchParams }[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const form = new URLSearchParams(body);
      received.push({ path: request.url ?? '', authorization: request.headers.authorization ?? '', form });
      response.setHeader('content-type', 'application/json');
      if (request.headers.authorization !== `Basic ${Buffer.from('AC123:twilio-token').toString('base64')}`) {
        response.statusCode = 401;
        response.end(JSON.stringify({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 }));
        return;
      }
      if (form.get('To') === '+15550000000') {
        response.statusCode = 400;
        response.end(JSON.stringify({ code: 21211, message: "The 'To' number +15550000000 is not a valid phone number.", more_info: 'https://www.twilio.com/docs/errors/21211', status: 400 }));
        return;
      }
      response.statusCode = 201;
      response.end(JSON.stringify({ sid: `SM${received.length.toString().padStart(32, '0')}`, status: 'queued', to: form.get('To'), body: form.get('Body') }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describeEachDatabase('phone codes through an HTTP provider in Twilio\'s shape', (database) => {
  let app: IdentityServer;
  let twilio: Awaited<ReturnType<typeof startTwilio>>;
  beforeAll(async () => {
    twilio = await startTwilio();
    app = await startIdentity(database(), {
      ...PHONE_ENV,
      GOTRUE_SMS_PROVIDER: 'twilio',
      GOTRUE_SMS_TWILIO_ACCOUNT_SID: 'AC123',
      GOTRUE_SMS_TWILIO_AUTH_TOKEN: 'twilio-token',
      GOTRUE_SMS_TWILIO_MESSAGE_SERVICE_SID: 'MG456',
      GOTRUE_SMS_TEMPLATE: 'Latchkey code: {{ .Code }}',
      LATCHKEY_SMS_TWILIO_API_URL: twilio.url,
    });
  });
  afterAll(async () => {
    await app?.close();
    await twilio?.close();
  });

  it('posts the code to the Messages API as Twilio expects, and the texted code signs in', async () => {
    const phone = phoneNumber();
    const client = app.client();
    const sent = await client.auth.signInWithOtp({ phone });
    expect(sent.error).toBeNull();
    const request = twilio.received.at(-1)!;
    expect(request.path).toBe('/2010-04-01/Accounts/AC123/Messages.json');
    expect(Object.fromEntries(request.form)).toEqual({ To: phone, From: 'MG456', Channel: 'sms', Body: expect.stringMatching(/^Latchkey code: \d{6}$/) });
    expect(sent.data.messageId).toMatch(/^SM\d{32}$/);
    expect(await smsOutbox(app, phone)).toEqual([]);
    const code = /(\d{6})$/.exec(request.form.get('Body')!)![1]!;
    expect((await client.auth.verifyOtp({ phone, token: code, type: 'sms' })).error).toBeNull();
    const settings = (await (await fetch(`${app.auth}/settings`)).json()) as { sms_provider: string };
    expect(settings.sms_provider).toBe('twilio');
  });

  it("answers 422 sms_send_failed with the provider's reason when it refuses, never its credentials", async () => {
    const refused = await post(`${app.auth}/otp`, { phone: '+15550000000' }, { 'x-supabase-api-version': '2024-01-01' });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'sms_send_failed' });
    expect(String(refused.body.message)).toContain('is not a valid phone number');
    expect(JSON.stringify(refused.body)).not.toContain('twilio-token');
  });
});
