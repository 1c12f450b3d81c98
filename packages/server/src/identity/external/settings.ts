import { ConfigError, parseBoolean, parseUrl, readSetting, type Environment, type RawSetting } from '../../config/index.js';

/**
 * How a provider is spoken to: `oidc` (discovery, ID token checked against the provider's JWKS) or one
 * of the OAuth 2.0 providers whose profile comes from their own API.
 */
export type ProviderProtocol = 'oidc' | 'github' | 'gitlab';

/** One enabled upstream provider. */
export interface ProviderSettings {
  /** The name in `/authorize?provider=…` and in `identities[].provider` (lower case). */
  readonly name: string;
  readonly protocol: ProviderProtocol;
  readonly clientId: string;
  readonly secret: string;
  /** Where the provider sends the browser back; `null` means `<public URL>/auth/v1/callback`. */
  readonly redirectUri: string | null;
  /** `oidc`: the issuer whose discovery document is read. `github`/`gitlab`: the base URL of the site. */
  readonly url: string;
  /** Scopes always asked for; `scopes` of `/authorize` adds to them. */
  readonly scopes: readonly string[];
}

/** Settings of sign-in with upstream providers. */
export interface ExternalSettings {
  /** Enabled providers, by name. */
  readonly providers: ReadonlyMap<string, ProviderSettings>;
  /**
   * `linkIdentity` / `unlinkIdentity` (`LATCHKEY_SECURITY_MANUAL_LINKING_ENABLED` /
   * `GOTRUE_SECURITY_MANUAL_LINKING_ENABLED`). Default false, as GoTrue.
   */
  readonly manualLinking: boolean;
}

/** The built-in providers, with GoTrue's variable names (`GOTRUE_EXTERNAL_<NAME>_*`). */
interface BuiltIn {
  readonly protocol: ProviderProtocol;
  /** Default base URL or issuer; `null` when `…_URL` is required. */
  readonly url: string | null;
  /** Turns the `…_URL` setting into the issuer or base URL used. */
  readonly fromUrl?: (url: string) => string;
  readonly scopes: readonly string[];
}

const BUILT_IN: Readonly<Record<string, BuiltIn>> = {
  github: { protocol: 'github', url: 'https://github.com', scopes: ['user:email'] },
  gitlab: { protocol: 'gitlab', url: 'https://gitlab.com', scopes: ['read_user'] },
  google: { protocol: 'oidc', url: 'https://accounts.google.com', scopes: ['openid', 'email', 'profile'] },
  // A tenant (`https://login.microsoftonline.com/<tenant id>`): the multi-tenant `common` endpoint names
  // each tenant as its issuer, which discovery cannot check.
  azure: { protocol: 'oidc', url: null, fromUrl: (url) => `${url}/v2.0`, scopes: ['openid', 'email', 'profile'] },
  keycloak: { protocol: 'oidc', url: null, scopes: ['openid', 'profile', 'email'] },
};

/** Names of the built-in providers, in the order `/settings` lists them. */
export const BUILT_IN_PROVIDERS = Object.keys(BUILT_IN);

const OIDC_SCOPES = ['openid', 'email', 'profile'];
const CUSTOM_ISSUER = /^LATCHKEY_EXTERNAL_([A-Z0-9_]+)_ISSUER$/;
const PROVIDER_NAME = /^[a-z0-9_]{1,40}$/;

function setting(env: Environment, name: string, suffix: string): RawSetting | undefined {
  const upper = name.toUpperCase();
  return readSetting(env, [`LATCHKEY_EXTERNAL_${upper}_${suffix}`, `GOTRUE_EXTERNAL_${upper}_${suffix}`]);
}

function required(env: Environment, name: string, suffix: string, why: string): RawSetting {
  const value = setting(env, name, suffix);
  if (!value) throw new ConfigError(`GOTRUE_EXTERNAL_${name.toUpperCase()}_${suffix}`, `is required ${why}`);
  return value;
}

/** http:// is accepted only for a loopback host (a provider run beside the server, in development). */
function providerUrl(value: RawSetting): string {
  const url = parseUrl(value, ['https', 'http']);
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) throw new ConfigError(value.name, 'must use https:// (http:// only for a loopback host)');
  return url.href.replace(/\/$/, '');
}

/** Whether a host name is the loopback interface. */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function redirectUri(env: Environment, name: string): string | null {
  const value = setting(env, name, 'REDIRECT_URI');
  return value ? parseUrl(value, ['https', 'http']).href : null;
}

function loadBuiltIn(env: Environment, name: string, builtIn: BuiltIn): ProviderSettings | null {
  const enabled = setting(env, name, 'ENABLED');
  if (!enabled || !parseBoolean(enabled)) return null;
  const why = `when ${enabled.name} is true`;
  const clientId = required(env, name, 'CLIENT_ID', why).value;
  const secret = required(env, name, 'SECRET', why).value;
  const urlSetting = builtIn.url === null ? required(env, name, 'URL', why) : setting(env, name, 'URL');
  let url = builtIn.url!;
  if (urlSetting) {
    const base = providerUrl(urlSetting);
    url = builtIn.fromUrl ? builtIn.fromUrl(base) : base;
  }
  return { name, protocol: builtIn.protocol, clientId, secret, redirectUri: redirectUri(env, name), url, scopes: builtIn.scopes };
}

function loadCustom(env: Environment, variable: string, name: string): ProviderSettings {
  if (!PROVIDER_NAME.test(name)) throw new ConfigError(variable, 'the provider name must be letters, digits and "_" (at most 40)');
  if (name in BUILT_IN || name === 'email' || name === 'phone' || name === 'anonymous_users') {
    throw new ConfigError(variable, `"${name}" is a built-in provider; configure it with GOTRUE_EXTERNAL_${name.toUpperCase()}_*`);
  }
  const why = `when ${variable} is set`;
  const upper = name.toUpperCase();
  const clientId = readSetting(env, [`LATCHKEY_EXTERNAL_${upper}_CLIENT_ID`]);
  const secret = readSetting(env, [`LATCHKEY_EXTERNAL_${upper}_SECRET`]);
  if (!clientId) throw new ConfigError(`LATCHKEY_EXTERNAL_${upper}_CLIENT_ID`, `is required ${why}`);
  if (!secret) throw new ConfigError(`LATCHKEY_EXTERNAL_${upper}_SECRET`, `is required ${why}`);
  const redirect = readSetting(env, [`LATCHKEY_EXTERNAL_${upper}_REDIRECT_URI`]);
  return {
    name,
    protocol: 'oidc',
    clientId: clientId.value,
    secret: secret.value,
    redirectUri: redirect ? parseUrl(redirect, ['https', 'http']).href : null,
    url: providerUrl({ name: variable, value: env[variable]!.trim() }),
    scopes: OIDC_SCOPES,
  };
}

/**
 * Reads the enabled providers: the built-in ones under GoTrue's names (`GOTRUE_EXTERNAL_GITHUB_ENABLED`,
 * `…_CLIENT_ID`, `…_SECRET`, `…_REDIRECT_URI`, `…_URL`; `LATCHKEY_EXTERNAL_…` first), and any OpenID
 * Connect provider named by `LATCHKEY_EXTERNAL_<NAME>_ISSUER` with `…_CLIENT_ID` and `…_SECRET`.
 * Throws {@link ConfigError} naming the first missing or bad variable.
 *
 * @example
 * ```ts
 * loadExternalSettings({ LATCHKEY_EXTERNAL_ACME_ISSUER: 'https://id.acme.test', LATCHKEY_EXTERNAL_ACME_CLIENT_ID: 'app', LATCHKEY_EXTERNAL_ACME_SECRET: 's' })
 *   .providers.get('acme')?.protocol; // 'oidc'
 * ```
 */
export function loadExternalSettings(env: Environment): ExternalSettings {
  const providers = new Map<string, ProviderSettings>();
  for (const [name, builtIn] of Object.entries(BUILT_IN)) {
    const loaded = loadBuiltIn(env, name, builtIn);
    if (loaded) providers.set(name, loaded);
  }
  for (const variable of Object.keys(env).sort()) {
    const match = CUSTOM_ISSUER.exec(variable);
    if (!match || (env[variable] ?? '').trim() === '') continue;
    const loaded = loadCustom(env, variable, match[1]!.toLowerCase());
    providers.set(loaded.name, loaded);
  }
  const linking = readSetting(env, ['LATCHKEY_SECURITY_MANUAL_LINKING_ENABLED', 'GOTRUE_SECURITY_MANUAL_LINKING_ENABLED']);
  return { providers, manualLinking: linking ? parseBoolean(linking) : false };
}
