import {
  ConfigError,
  parseBoolean,
  parseInteger,
  parseList,
  parseSeconds,
  parseUrl,
  readSetting,
  type Environment,
  type RawSetting,
} from '../config/index.js';
import { NO_TRUSTED_PROXIES, parseTrustedProxies, type TrustedProxies } from './http/client-address.js';
import { parseCorsOrigins, type CorsOrigins } from './http/cors.js';

/**
 * The identity service's settings. Each is read under its `LATCHKEY_*` name first and then under the
 * name GoTrue uses, so an existing GoTrue environment file works unchanged.
 */
export interface IdentitySettings {
  /**
   * Legacy HS256 secret (`LATCHKEY_JWT_SECRET` / `GOTRUE_JWT_SECRET`), at least 32 bytes. HS256 tokens signed
   * with it are accepted by identity, the gateway and the example API. Default none.
   */
  readonly jwtSecret: string | null;
  /** `kid` of the HS256 secret (`GOTRUE_JWT_KEY_ID`). Default none. */
  readonly jwtSecretKeyId: string | null;
  /** Private JWKs from `LATCHKEY_JWT_KEYS` / `GOTRUE_JWT_KEYS`, raw; `null` means keys live in the database. */
  readonly jwtKeys: { readonly name: string; readonly value: string } | null;
  /** Access token lifetime in seconds. Default 3600. */
  readonly jwtExpiry: number;
  /** Roles whose tokens may call the admin API. Default `service_role, supabase_admin`. */
  readonly adminRoles: readonly string[];
  /** `aud` of user tokens. Default `authenticated`. */
  readonly audience: string;
  /** Role of new users. Default `authenticated`. */
  readonly defaultRole: string;
  /** `iss` of tokens; `null` means `<public URL>/auth/v1`. */
  readonly issuer: string | null;
  /** Where the application lives (redirects). `null` means the public URL. */
  readonly siteUrl: string | null;
  /** Refuse `/signup`. Default false. */
  readonly disableSignup: boolean;
  /** Confirm email addresses at sign-up. Default **true** (GoTrue's default is false; see README). */
  readonly mailerAutoconfirm: boolean;
  /** Email + password sign-up and login. Default true. */
  readonly emailEnabled: boolean;
  /** Shortest accepted password. Default 6. */
  readonly passwordMinLength: number;
  /** Rotate refresh tokens and detect reuse. Default true. */
  readonly refreshTokenRotation: boolean;
  /** Seconds a just-rotated refresh token may still be presented. Default 10. */
  readonly refreshTokenReuseInterval: number;
  /** Sessions end this many seconds after login; 0 = never. Default 0. */
  readonly sessionsTimebox: number;
  /** Sessions end after this many seconds without a refresh; 0 = never. Default 0. */
  readonly sessionsInactivityTimeout: number;
  /** `/token` requests per 5 minutes per client address (password grant) and per session (refresh grant); 0 = unlimited. Default 150. */
  readonly rateLimitToken: number;
  /** `/signup` requests per 5 minutes per client address; 0 = unlimited. Default 30. */
  readonly rateLimitSignup: number;
  /** Requests a client address or a session may make at once before the 5-minute rate applies. Default 30 for addresses, 100 for sessions. */
  readonly rateLimitBurst: number;
  readonly rateLimitSessionBurst: number;
  /** Header a trusted proxy writes the client address into; `null` means `X-Forwarded-For`. Believed only from {@link trustedProxies}. */
  readonly rateLimitHeader: string | null;
  /** Proxies whose forwarding header is believed (`LATCHKEY_TRUSTED_PROXIES`, addresses and CIDR ranges). Default none: the socket address. */
  readonly trustedProxies: TrustedProxies;
  /** Origins allowed to call `/auth/v1` from a browser (`LATCHKEY_CORS_ALLOWED_ORIGINS`); `null` means the public URL's origin, the site URL's, and loopback origins when the public URL is on loopback. */
  readonly corsAllowedOrigins: CorsOrigins | null;
  /** Failed password logins of one account (across addresses) before each further attempt waits; 0 = off. Default 5. */
  readonly loginAccountFailures: number;
  /** Failed password logins from one address (across accounts) before each further attempt waits; 0 = off. Default 20. */
  readonly loginAddressFailures: number;
  /** Wait after the first failure past a threshold, in seconds; doubles with every further failure. Default 1. */
  readonly loginDelay: number;
  /** Longest wait, in seconds. Default 900 (15 minutes). */
  readonly loginMaxDelay: number;
  /** Failures are forgotten this many seconds after the last one. Default 3600. */
  readonly loginFailureWindow: number;
  /** API key overrides; `null` means generated and persisted. */
  readonly anonKey: string | null;
  readonly serviceRoleKey: string | null;
  /** Seconds between re-reads of the signing keys from the database. Default 30. */
  readonly keysReloadInterval: number;
}

/** Shortest accepted `LATCHKEY_JWT_SECRET`, in bytes (UTF-8). */
export const MIN_SECRET_BYTES = 32;

function read(env: Environment, latchkey: string, gotrue?: string): RawSetting | undefined {
  return readSetting(env, gotrue ? [latchkey, gotrue] : [latchkey]);
}

function seconds(env: Environment, names: [string, string?], fallback: number, rule: { min: number; max: number }): number {
  const setting = read(env, names[0], names[1]);
  return setting ? parseSeconds(setting, rule) : fallback;
}

function integer(env: Environment, names: [string, string?], fallback: number, rule: { min: number; max: number }): number {
  const setting = read(env, names[0], names[1]);
  return setting ? parseInteger(setting, rule) : fallback;
}

function boolean(env: Environment, names: [string, string?], fallback: boolean): boolean {
  const setting = read(env, names[0], names[1]);
  return setting ? parseBoolean(setting) : fallback;
}

function jwtShaped(setting: RawSetting | undefined): string | null {
  if (!setting) return null;
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(setting.value)) throw new ConfigError(setting.name, 'must be a JWT (three base64url parts)');
  return setting.value;
}

/** Access-token lifetime in seconds (`LATCHKEY_JWT_EXPIRY` / `GOTRUE_JWT_EXP`). Default 3600. */
function loadAccessTokenLifetime(env: Environment): number {
  return integer(env, ['LATCHKEY_JWT_EXPIRY', 'GOTRUE_JWT_EXP'], 3600, { min: 1, max: 7 * 24 * 3600 });
}

/**
 * Reads and validates the identity settings; throws {@link ConfigError} naming the first bad variable.
 *
 * @example
 * ```ts
 * const settings = loadIdentitySettings({ GOTRUE_JWT_EXP: '900' }); // settings.jwtExpiry === 900
 * ```
 */
export function loadIdentitySettings(env: Environment): IdentitySettings {
  const secret = read(env, 'LATCHKEY_JWT_SECRET', 'GOTRUE_JWT_SECRET');
  // RFC 7518 §3.2: an HS256 key has at least 256 bits. The gateway and the example API verify with the
  // same secret, so a shorter one is refused here, at start, rather than by each verifier at first use.
  if (secret && Buffer.byteLength(secret.value) < MIN_SECRET_BYTES) throw new ConfigError(secret.name, `must be at least ${MIN_SECRET_BYTES} bytes long (HS256 needs a 256-bit key)`);
  const keys = read(env, 'LATCHKEY_JWT_KEYS', 'GOTRUE_JWT_KEYS');
  const rolesSetting = read(env, 'LATCHKEY_JWT_ADMIN_ROLES', 'GOTRUE_JWT_ADMIN_ROLES');
  const adminRoles = rolesSetting ? parseList(rolesSetting) : ['service_role', 'supabase_admin'];
  if (rolesSetting && adminRoles.length === 0) throw new ConfigError(rolesSetting.name, 'must name at least one role');
  const issuerSetting = read(env, 'LATCHKEY_JWT_ISSUER', 'GOTRUE_JWT_ISSUER');
  const siteSetting = read(env, 'LATCHKEY_SITE_URL', 'GOTRUE_SITE_URL');
  const headerSetting = read(env, 'LATCHKEY_RATE_LIMIT_HEADER', 'GOTRUE_RATE_LIMIT_HEADER');
  if (headerSetting && !/^[A-Za-z0-9-]+$/.test(headerSetting.value)) throw new ConfigError(headerSetting.name, 'must be an HTTP header name');
  const proxiesSetting = read(env, 'LATCHKEY_TRUSTED_PROXIES');
  const corsSetting = read(env, 'LATCHKEY_CORS_ALLOWED_ORIGINS');
  const loginDelay = seconds(env, ['LATCHKEY_LOGIN_DELAY'], 1, { min: 0.001, max: 86_400 });
  const loginMaxDelay = seconds(env, ['LATCHKEY_LOGIN_MAX_DELAY'], 900, { min: loginDelay, max: 86_400 });
  const loginWindow = seconds(env, ['LATCHKEY_LOGIN_FAILURE_WINDOW'], 3600, { min: 1, max: 30 * 86_400 });
  const audience = read(env, 'LATCHKEY_JWT_AUD', 'GOTRUE_JWT_AUD')?.value ?? 'authenticated';
  const defaultRole = read(env, 'LATCHKEY_JWT_DEFAULT_GROUP_NAME', 'GOTRUE_JWT_DEFAULT_GROUP_NAME')?.value ?? 'authenticated';

  return {
    jwtSecret: secret?.value ?? null,
    jwtSecretKeyId: read(env, 'LATCHKEY_JWT_KEY_ID', 'GOTRUE_JWT_KEY_ID')?.value ?? null,
    jwtKeys: keys ? { name: keys.name, value: keys.value } : null,
    jwtExpiry: loadAccessTokenLifetime(env),
    adminRoles,
    audience,
    defaultRole,
    issuer: issuerSetting ? issuerSetting.value : null,
    siteUrl: siteSetting ? parseUrl(siteSetting, ['http', 'https']).toString().replace(/\/$/, '') : null,
    disableSignup: boolean(env, ['LATCHKEY_DISABLE_SIGNUP', 'GOTRUE_DISABLE_SIGNUP'], false),
    mailerAutoconfirm: boolean(env, ['LATCHKEY_MAILER_AUTOCONFIRM', 'GOTRUE_MAILER_AUTOCONFIRM'], true),
    emailEnabled: boolean(env, ['LATCHKEY_EXTERNAL_EMAIL_ENABLED', 'GOTRUE_EXTERNAL_EMAIL_ENABLED'], true),
    passwordMinLength: integer(env, ['LATCHKEY_PASSWORD_MIN_LENGTH', 'GOTRUE_PASSWORD_MIN_LENGTH'], 6, { min: 1, max: 72 }),
    refreshTokenRotation: boolean(env, ['LATCHKEY_REFRESH_TOKEN_ROTATION_ENABLED', 'GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED'], true),
    refreshTokenReuseInterval: seconds(env, ['LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL', 'GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL'], 10, { min: 0, max: 3600 }),
    sessionsTimebox: seconds(env, ['LATCHKEY_SESSIONS_TIMEBOX', 'GOTRUE_SESSIONS_TIMEBOX'], 0, { min: 0, max: 10 * 365 * 24 * 3600 }),
    sessionsInactivityTimeout: seconds(env, ['LATCHKEY_SESSIONS_INACTIVITY_TIMEOUT', 'GOTRUE_SESSIONS_INACTIVITY_TIMEOUT'], 0, { min: 0, max: 10 * 365 * 24 * 3600 }),
    rateLimitToken: integer(env, ['LATCHKEY_RATE_LIMIT_TOKEN_REFRESH', 'GOTRUE_RATE_LIMIT_TOKEN_REFRESH'], 150, { min: 0, max: 100_000_000 }),
    rateLimitSignup: integer(env, ['LATCHKEY_RATE_LIMIT_SIGNUP', 'GOTRUE_RATE_LIMIT_OTP'], 30, { min: 0, max: 100_000_000 }),
    rateLimitBurst: integer(env, ['LATCHKEY_RATE_LIMIT_BURST'], 30, { min: 1, max: 100_000_000 }),
    rateLimitSessionBurst: integer(env, ['LATCHKEY_RATE_LIMIT_SESSION_BURST'], 100, { min: 1, max: 100_000_000 }),
    rateLimitHeader: headerSetting ? headerSetting.value.toLowerCase() : null,
    trustedProxies: proxiesSetting ? parseTrustedProxies(proxiesSetting) : NO_TRUSTED_PROXIES,
    corsAllowedOrigins: corsSetting ? parseCorsOrigins(corsSetting) : null,
    loginAccountFailures: integer(env, ['LATCHKEY_LOGIN_ACCOUNT_FAILURES'], 5, { min: 0, max: 1_000_000 }),
    loginAddressFailures: integer(env, ['LATCHKEY_LOGIN_ADDRESS_FAILURES'], 20, { min: 0, max: 1_000_000 }),
    loginDelay: loginDelay,
    loginMaxDelay: loginMaxDelay,
    loginFailureWindow: loginWindow,
    anonKey: jwtShaped(read(env, 'LATCHKEY_ANON_KEY')),
    serviceRoleKey: jwtShaped(read(env, 'LATCHKEY_SERVICE_ROLE_KEY')),
    keysReloadInterval: seconds(env, ['LATCHKEY_JWT_KEYS_RELOAD_INTERVAL'], 30, { min: 0.1, max: 3600 }),
  };
}
