import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/index.js';
import { loadOtpSettings } from '../../src/identity/otp/settings.js';
import { loadMailSettings } from '../../src/mail/settings.js';

describe('mail and one-time code settings', () => {
  it('reads LATCHKEY_* names first, then GoTrue names, with defaults', () => {
    expect(loadMailSettings({})).toEqual({ host: null, port: 587, user: null, pass: null, from: 'no-reply@localhost', senderName: 'Latchkey' });
    const gotrue = loadMailSettings({ GOTRUE_SMTP_HOST: 'smtp.example.com', GOTRUE_SMTP_PORT: '465', GOTRUE_SMTP_USER: 'u', GOTRUE_SMTP_PASS: 'p', GOTRUE_SMTP_ADMIN_EMAIL: 'auth@example.com' });
    expect(gotrue).toMatchObject({ host: 'smtp.example.com', port: 465, user: 'u', pass: 'p', from: 'auth@example.com' });
    expect(loadMailSettings({ LATCHKEY_SMTP_HOST: 'a', GOTRUE_SMTP_HOST: 'b' }).host).toBe('a');
    expect(loadOtpSettings({})).toEqual({
      otpExpiry: 86400,
      maxFrequency: 60,
      emailsPerHour: 30,
      verifyPerFiveMinutes: 30,
      uriAllowList: [],
      secureEmailChange: true,
      anonymousEnabled: false,
      anonymousPerHour: 30,
    });
    expect(loadOtpSettings({ GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED: 'true', GOTRUE_SMTP_MAX_FREQUENCY: '1m' })).toMatchObject({ anonymousEnabled: true, maxFrequency: 60 });
  });

  it('refuses bad values naming the variable', () => {
    expect(() => loadMailSettings({ GOTRUE_SMTP_PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadMailSettings({ GOTRUE_SMTP_PORT: '70000' })).toThrow(/GOTRUE_SMTP_PORT/);
    expect(() => loadMailSettings({ LATCHKEY_SMTP_USER: 'u' })).toThrow(/LATCHKEY_SMTP_USER/);
    expect(() => loadMailSettings({ LATCHKEY_SMTP_ADMIN_EMAIL: 'not an address' })).toThrow(/LATCHKEY_SMTP_ADMIN_EMAIL/);
    expect(() => loadOtpSettings({ LATCHKEY_MAILER_OTP_EXP: 'soon' })).toThrow(/LATCHKEY_MAILER_OTP_EXP/);
    expect(() => loadOtpSettings({ GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED: 'maybe' })).toThrow(/GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED/);
  });
});
