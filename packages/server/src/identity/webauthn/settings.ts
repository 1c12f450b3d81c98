import { parseBoolean, parseInteger, parseList, parseSeconds, parseUrl, readSetting, type Environment, type RawSetting } from '../../config/index.js';
import { ConfigError } from '../../config/index.js';

/** Passkey and WebAuthn second-factor settings, read under Latchkey's and GoTrue's names. */
export interface WebAuthnSettings {
  /** Passkey sign-in and management (`LATCHKEY_PASSKEY_ENABLED` / `GOTRUE_PASSKEY_ENABLED`). Default true. */
  readonly passkeysEnabled: boolean;
  /** Passkeys a user may hold (`…_PASSKEY_MAX_PASSKEYS_PER_USER`). Default 10. */
  readonly maxPasskeysPerUser: number;
  /** WebAuthn second factors may be enrolled (`…_MFA_WEB_AUTHN_ENROLL_ENABLED`). Default true. */
  readonly mfaEnrollEnabled: boolean;
  /** WebAuthn second factors may be challenged and verified (`…_MFA_WEB_AUTHN_VERIFY_ENABLED`). Default true. */
  readonly mfaVerifyEnabled: boolean;
  /**
   * Relying party ID (`LATCHKEY_WEBAUTHN_RP_ID` / `GOTRUE_WEBAUTHN_RP_ID`). Default: the host name of the
   * public URL (`localhost` when that is a loopback address, since browsers refuse IP addresses as RP IDs).
   */
  readonly rpId: string | null;
  /**
   * Origins whose ceremonies are accepted (`…_WEBAUTHN_RP_ORIGINS`, comma-separated). Default: the public
   * URL's origin, its `localhost` form when it is a loopback address, and the site URL's origin.
   */
  readonly rpOrigins: readonly string[] | null;
  /** Name shown by authenticators (`…_WEBAUTHN_RP_DISPLAY_NAME`). Default `Latchkey`. */
  readonly rpDisplayName: string;
  /** Seconds a ceremony challenge stays usable (`…_WEBAUTHN_CHALLENGE_EXPIRY_DURATION`, `5m` style accepted). Default 300. */
  readonly challengeExpiry: number;
  /** Passkey sign-in ceremonies started per client address and 5 minutes (`…_RATE_LIMIT_PASSKEY`); 0 = no limit. Default 30. */
  readonly passkeyRatePerFiveMinutes: number;
}

function origin(setting: RawSetting, value: string): string {
  const url = parseUrl({ name: setting.name, value }, ['https', 'http']);
  if (url.pathname !== '/' || url.search || url.hash) throw new ConfigError(setting.name, `must list origins (scheme, host and port only), got ${JSON.stringify(value)}`);
  return url.origin;
}

/** Reads the settings; a malformed origin or RP ID is a {@link ConfigError} naming the variable. */
export function loadWebAuthnSettings(env: Environment): WebAuthnSettings {
  const read = (suffix: string) => readSetting(env, [`LATCHKEY_${suffix}`, `GOTRUE_${suffix}`]);
  const bool = (suffix: string, fallback: boolean) => {
    const setting = read(suffix);
    return setting ? parseBoolean(setting) : fallback;
  };
  const rpId = read('WEBAUTHN_RP_ID');
  if (rpId && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(rpId.value)) {
    throw new ConfigError(rpId.name, `must be a domain name such as example.com (got ${JSON.stringify(rpId.value)})`);
  }
  const origins = read('WEBAUTHN_RP_ORIGINS');
  const max = read('PASSKEY_MAX_PASSKEYS_PER_USER');
  const expiry = read('WEBAUTHN_CHALLENGE_EXPIRY_DURATION');
  const rate = read('RATE_LIMIT_PASSKEY');
  return {
    passkeysEnabled: bool('PASSKEY_ENABLED', true),
    maxPasskeysPerUser: max ? parseInteger(max, { min: 1, max: 1000 }) : 10,
    mfaEnrollEnabled: bool('MFA_WEB_AUTHN_ENROLL_ENABLED', true),
    mfaVerifyEnabled: bool('MFA_WEB_AUTHN_VERIFY_ENABLED', true),
    rpId: rpId ? rpId.value.toLowerCase() : null,
    rpOrigins: origins ? parseList(origins).map((value) => origin(origins, value)) : null,
    rpDisplayName: read('WEBAUTHN_RP_DISPLAY_NAME')?.value ?? 'Latchkey',
    challengeExpiry: expiry ? parseSeconds(expiry, { min: 1, max: 86400 }) : 300,
    passkeyRatePerFiveMinutes: rate ? parseInteger(rate, { min: 0, max: 100_000_000 }) : 30,
  };
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|\[::1\])$/;

/** The relying party the ceremonies run for: its ID, accepted origins and display name. */
export interface RelyingParty {
  readonly id: string;
  readonly origins: readonly string[];
  readonly name: string;
}

/**
 * Resolves the relying party from the settings and the service's public URL (read at each ceremony, so
 * a port chosen at listen time counts).
 */
export function relyingParty(settings: WebAuthnSettings, publicUrl: string, siteUrl: string | null): RelyingParty {
  const url = new URL(publicUrl);
  const loopback = LOOPBACK.test(url.hostname) || url.hostname === 'localhost';
  const id = settings.rpId ?? (loopback ? 'localhost' : url.hostname);
  let origins = settings.rpOrigins;
  if (!origins) {
    const defaults = [url.origin];
    if (loopback) defaults.push(`${url.protocol}//localhost${url.port ? `:${url.port}` : ''}`);
    if (siteUrl) {
      try {
        defaults.push(new URL(siteUrl).origin);
      } catch {
        // A site URL that is not a URL adds no origin.
      }
    }
    origins = [...new Set(defaults)];
  }
  return { id, origins, name: settings.rpDisplayName };
}
