import { ConfigError, parseBoolean, parseChoice, parseInteger, parseSeconds, parseUrl, readSetting, type Environment } from '../config/index.js';

/** Where text messages go: the development outbox, or Twilio's Messages API. */
export type SmsProviderName = 'outbox' | 'twilio';

/** Twilio credentials (`…_SMS_TWILIO_*`, as GoTrue names them). */
export interface TwilioSettings {
  readonly accountSid: string;
  readonly authToken: string;
  /** Messaging service SID or sender number (`From`). */
  readonly messageServiceSid: string;
  /** Base URL of the Messages API (`LATCHKEY_SMS_TWILIO_API_URL`). Default `https://api.twilio.com`. */
  readonly apiUrl: string;
}

/** Phone sign-in and text message settings. */
export interface SmsSettings {
  /** Phone sign-up, sign-in and phone change (`LATCHKEY_EXTERNAL_PHONE_ENABLED` / `GOTRUE_EXTERNAL_PHONE_ENABLED`). Default false. */
  readonly phoneEnabled: boolean;
  /** New phone numbers count as confirmed without a code (`…_SMS_AUTOCONFIRM`). Default false. */
  readonly autoconfirm: boolean;
  /** `…_SMS_PROVIDER`: `twilio`, or empty for the development outbox. */
  readonly provider: SmsProviderName;
  /** Seconds a texted code stays valid (`…_SMS_OTP_EXP`). Default 60. */
  readonly otpExpiry: number;
  /** Seconds between two messages to one number (`…_SMS_MAX_FREQUENCY`, `60s` style accepted); 0 = no limit. Default 60. */
  readonly maxFrequency: number;
  /** Messages per hour per client address (`…_RATE_LIMIT_SMS_SENT`); 0 = no limit. Default 30. */
  readonly smsPerHour: number;
  /** Message text; `{{ .Code }}` is replaced by the code (`…_SMS_TEMPLATE`). Default `Your code is {{ .Code }}`. */
  readonly template: string;
  readonly twilio: TwilioSettings | null;
}

const names = (suffix: string) => [`LATCHKEY_${suffix}`, `GOTRUE_${suffix}`];

/** Reads the phone settings; `twilio` without its credentials is a {@link ConfigError}. */
export function loadSmsSettings(env: Environment): SmsSettings {
  const read = (suffix: string) => readSetting(env, names(suffix));
  const enabled = read('EXTERNAL_PHONE_ENABLED');
  const autoconfirm = read('SMS_AUTOCONFIRM');
  const providerSetting = read('SMS_PROVIDER');
  const provider: SmsProviderName = providerSetting ? parseChoice(providerSetting, ['twilio', 'outbox'] as const) : 'outbox';
  const expiry = read('SMS_OTP_EXP');
  const frequency = read('SMS_MAX_FREQUENCY');
  const perHour = read('RATE_LIMIT_SMS_SENT');
  const template = read('SMS_TEMPLATE');
  let twilio: TwilioSettings | null = null;
  if (provider === 'twilio') {
    const required = (suffix: string) => {
      const setting = read(suffix);
      if (!setting) throw new ConfigError(`GOTRUE_${suffix}`, 'is required when the SMS provider is twilio');
      return setting.value;
    };
    const apiUrl = readSetting(env, ['LATCHKEY_SMS_TWILIO_API_URL']);
    twilio = {
      accountSid: required('SMS_TWILIO_ACCOUNT_SID'),
      authToken: required('SMS_TWILIO_AUTH_TOKEN'),
      messageServiceSid: required('SMS_TWILIO_MESSAGE_SERVICE_SID'),
      apiUrl: apiUrl ? parseUrl(apiUrl, ['https', 'http']).toString().replace(/\/$/, '') : 'https://api.twilio.com',
    };
  }
  return {
    phoneEnabled: enabled ? parseBoolean(enabled) : false,
    autoconfirm: autoconfirm ? parseBoolean(autoconfirm) : false,
    provider,
    otpExpiry: expiry ? parseSeconds(expiry, { min: 1, max: 86400 }) : 60,
    maxFrequency: frequency ? parseSeconds(frequency, { min: 0, max: 86400 }) : 60,
    smsPerHour: perHour ? parseInteger(perHour, { min: 0, max: 100_000_000 }) : 30,
    template: template?.value ?? 'Your code is {{ .Code }}',
    twilio,
  };
}

/** The message text for `code` (GoTrue's template: `{{ .Code }}` stands for the code). */
export function smsText(template: string, code: string): string {
  return template.replace(/\{\{\s*\.Code\s*\}\}/g, code);
}
