import { ConfigError, parseBoolean, parseInteger, parseList, parseSeconds, readSetting, type Environment } from '../../config/index.js';
import { compileAllowList, type AllowedRedirect } from '../redirects.js';

/** Settings of email one-time codes, magic links, recovery and anonymous sign-in. */
export interface OtpSettings {
  /** Seconds an emailed code or link stays valid (`LATCHKEY_MAILER_OTP_EXP` / `GOTRUE_MAILER_OTP_EXP`). Default 86400. */
  readonly otpExpiry: number;
  /** Seconds between two mails to one address (`LATCHKEY_SMTP_MAX_FREQUENCY` / `GOTRUE_SMTP_MAX_FREQUENCY`); 0 = no limit. Default 60. */
  readonly maxFrequency: number;
  /** Mails per hour per client address (`LATCHKEY_RATE_LIMIT_EMAIL_SENT` / `GOTRUE_RATE_LIMIT_EMAIL_SENT`); 0 = no limit. Default 30. */
  readonly emailsPerHour: number;
  /** Verifications (`POST` and `GET /verify`) per 5 minutes per client address and per email address (`LATCHKEY_RATE_LIMIT_VERIFY` / `GOTRUE_RATE_LIMIT_VERIFY`); 0 = no limit. Default 30. */
  readonly verifyPerFiveMinutes: number;
  /**
   * Redirect targets allowed besides the site URL (`LATCHKEY_URI_ALLOW_LIST` / `GOTRUE_URI_ALLOW_LIST`):
   * comma-separated URLs whose host may hold `*` label globs and whose path `*` / `**` globs (see
   * `redirects.ts`). Default none.
   */
  readonly uriAllowList: readonly AllowedRedirect[];
  /**
   * An email change needs confirmation from both the old and the new address
   * (`LATCHKEY_MAILER_SECURE_EMAIL_CHANGE_ENABLED` / `GOTRUE_MAILER_SECURE_EMAIL_CHANGE_ENABLED`); off, the
   * new address alone confirms. Default true.
   */
  readonly secureEmailChange: boolean;
  /** Anonymous sign-ins (`LATCHKEY_EXTERNAL_ANONYMOUS_USERS_ENABLED` / `GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED`). Default false. */
  readonly anonymousEnabled: boolean;
  /** Anonymous sign-ins per hour per client address (`LATCHKEY_RATE_LIMIT_ANONYMOUS_USERS` / `GOTRUE_RATE_LIMIT_ANONYMOUS_USERS`); 0 = no limit. Default 30. */
  readonly anonymousPerHour: number;
}

export function loadOtpSettings(env: Environment): OtpSettings {
  const expiry = readSetting(env, ['LATCHKEY_MAILER_OTP_EXP', 'GOTRUE_MAILER_OTP_EXP']);
  const frequency = readSetting(env, ['LATCHKEY_SMTP_MAX_FREQUENCY', 'GOTRUE_SMTP_MAX_FREQUENCY']);
  const emails = readSetting(env, ['LATCHKEY_RATE_LIMIT_EMAIL_SENT', 'GOTRUE_RATE_LIMIT_EMAIL_SENT']);
  const verify = readSetting(env, ['LATCHKEY_RATE_LIMIT_VERIFY', 'GOTRUE_RATE_LIMIT_VERIFY']);
  const allow = readSetting(env, ['LATCHKEY_URI_ALLOW_LIST', 'GOTRUE_URI_ALLOW_LIST']);
  const secureChange = readSetting(env, ['LATCHKEY_MAILER_SECURE_EMAIL_CHANGE_ENABLED', 'GOTRUE_MAILER_SECURE_EMAIL_CHANGE_ENABLED']);
  const anonymous = readSetting(env, ['LATCHKEY_EXTERNAL_ANONYMOUS_USERS_ENABLED', 'GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED']);
  const anonymousRate = readSetting(env, ['LATCHKEY_RATE_LIMIT_ANONYMOUS_USERS', 'GOTRUE_RATE_LIMIT_ANONYMOUS_USERS']);
  let uriAllowList: AllowedRedirect[] = [];
  try {
    if (allow) uriAllowList = compileAllowList(parseList(allow));
  } catch (error) {
    throw new ConfigError(allow!.name, (error as Error).message);
  }
  return {
    otpExpiry: expiry ? parseSeconds(expiry, { min: 60, max: 7 * 86400 }) : 86400,
    maxFrequency: frequency ? parseSeconds(frequency, { min: 0, max: 86400 }) : 60,
    emailsPerHour: emails ? parseInteger(emails, { min: 0, max: 100_000_000 }) : 30,
    verifyPerFiveMinutes: verify ? parseInteger(verify, { min: 0, max: 100_000_000 }) : 30,
    uriAllowList,
    secureEmailChange: secureChange ? parseBoolean(secureChange) : true,
    anonymousEnabled: anonymous ? parseBoolean(anonymous) : false,
    anonymousPerHour: anonymousRate ? parseInteger(anonymousRate, { min: 0, max: 100_000_000 }) : 30,
  };
}
