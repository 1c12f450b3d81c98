import * as oidc from 'openid-client';
import { isLoopback, type ProviderSettings } from './settings.js';

/** An address the provider reports for the user. */
export interface ProviderEmail {
  readonly email: string;
  /** The provider says the user proved they own it. Only verified addresses match existing accounts. */
  readonly verified: boolean;
  readonly primary: boolean;
}

/** What a provider says about the user after a completed authorization. */
export interface ProviderProfile {
  /** The user's stable id at the provider (`identities[].id`, `identity_data.sub`). */
  readonly subject: string;
  readonly emails: readonly ProviderEmail[];
  /** GoTrue's identity data fields (`iss, sub, name, picture, avatar_url, full_name, user_name, …`). */
  readonly claims: Record<string, unknown>;
  /** The provider's access token (`provider_token` of the session response). */
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
}

/** One authorization request toward the provider. */
export interface AuthorizationRequest {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  /** Scopes asked for besides the provider's defaults. */
  readonly scopes: readonly string[];
  /** Extra query parameters passed through to the provider (`prompt`, `access_type`, …). */
  readonly extra: Readonly<Record<string, string>>;
}

/** What the callback is checked against. */
export interface CallbackChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
}

/** Milliseconds a provider's profile API has to answer. */
const PROVIDER_TIMEOUT_MS = 10_000;

/** Identity data keys taken from an ID token or userinfo answer, as GoTrue names them. */
const STANDARD_CLAIMS = [
  'iss',
  'sub',
  'name',
  'family_name',
  'given_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'email',
  'phone',
] as const;

function pick(source: Record<string, unknown>): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const key of STANDARD_CLAIMS) {
    const value = source[key];
    if (typeof value === 'string' && value !== '') claims[key] = value;
  }
  return claims;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : '';
}

/**
 * An upstream OAuth 2.0 / OpenID Connect provider. Speaks to it with `openid-client`: `state`, `nonce`
 * and PKCE (S256) on every authorization; OpenID Connect providers are discovered once (retried after a
 * failure) and their ID token is validated against their JWKS (signature, issuer, audience, expiry, nonce).
 */
export class UpstreamProvider {
  readonly settings: ProviderSettings;
  #configuration: Promise<oidc.Configuration> | null = null;

  constructor(settings: ProviderSettings) {
    this.settings = settings;
  }

  /** The provider's endpoints and client, discovered at first use. */
  configuration(): Promise<oidc.Configuration> {
    if (!this.#configuration) {
      this.#configuration = this.#load();
      this.#configuration.catch(() => {
        this.#configuration = null;
      });
    }
    return this.#configuration;
  }

  async #load(): Promise<oidc.Configuration> {
    const { settings } = this;
    const insecure = new URL(settings.url).protocol === 'http:' && isLoopback(new URL(settings.url).hostname);
    if (settings.protocol === 'oidc') {
      const options: oidc.DiscoveryRequestOptions = {};
      if (insecure) options.execute = [oidc.allowInsecureRequests];
      const discovered = await oidc.discovery(new URL(settings.url), settings.clientId, settings.secret, undefined, options);
      const methods = discovered.serverMetadata().token_endpoint_auth_methods_supported;
      // client_secret_basic is the OpenID default; post only when the provider offers nothing else.
      if (methods && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')) return discovered;
      const basic = new oidc.Configuration(discovered.serverMetadata(), settings.clientId, settings.secret, oidc.ClientSecretBasic(settings.secret));
      if (insecure) oidc.allowInsecureRequests(basic);
      return basic;
    }
    const paths = settings.protocol === 'github' ? ['/login/oauth/authorize', '/login/oauth/access_token'] : ['/oauth/authorize', '/oauth/token'];
    const configuration = new oidc.Configuration(
      { issuer: settings.url, authorization_endpoint: `${settings.url}${paths[0]}`, token_endpoint: `${settings.url}${paths[1]}` },
      settings.clientId,
      settings.secret,
      oidc.ClientSecretPost(settings.secret),
    );
    if (insecure) oidc.allowInsecureRequests(configuration);
    return configuration;
  }

  /** The URL the browser is sent to. */
  async authorizationUrl(request: AuthorizationRequest): Promise<URL> {
    const configuration = await this.configuration();
    const scopes = [...new Set([...this.settings.scopes, ...request.scopes])];
    const parameters: Record<string, string> = {
      ...request.extra,
      redirect_uri: request.redirectUri,
      scope: scopes.join(' '),
      state: request.state,
      code_challenge: await oidc.calculatePKCECodeChallenge(request.codeVerifier),
      code_challenge_method: 'S256',
    };
    if (this.settings.protocol === 'oidc') parameters.nonce = request.nonce;
    return oidc.buildAuthorizationUrl(configuration, parameters);
  }

  /**
   * Trades the callback's code (PKCE verifier sent) and reads the user's profile. `callback` holds the
   * query the provider sent the browser back with.
   */
  async complete(callback: URLSearchParams, checks: CallbackChecks): Promise<ProviderProfile> {
    const configuration = await this.configuration();
    const current = new URL(checks.redirectUri);
    current.search = callback.toString();
    const tokens = await oidc.authorizationCodeGrant(configuration, current, {
      pkceCodeVerifier: checks.codeVerifier,
      expectedState: checks.state,
      ...(this.settings.protocol === 'oidc' ? { expectedNonce: checks.nonce, idTokenExpected: true } : {}),
    });
    const accessToken = tokens.access_token;
    const refreshToken = tokens.refresh_token;
    if (this.settings.protocol === 'github') return { ...(await this.#github(accessToken)), accessToken, refreshToken };
    if (this.settings.protocol === 'gitlab') return { ...(await this.#gitlab(accessToken)), accessToken, refreshToken };
    let claims: Record<string, unknown> = { ...tokens.claims()! };
    if (typeof claims.email !== 'string' && configuration.serverMetadata().userinfo_endpoint) {
      claims = { ...(await oidc.fetchUserInfo(configuration, accessToken, text(claims.sub))), ...claims };
    }
    const subject = text(claims.sub);
    const email = text(claims.email);
    const identity = pick(claims);
    identity.sub = subject;
    if (typeof claims.name === 'string') identity.full_name = claims.name;
    if (typeof claims.picture === 'string') identity.avatar_url = claims.picture;
    identity.provider_id = subject;
    return {
      subject,
      emails: email ? [{ email, verified: claims.email_verified === true || claims.email_verified === 'true', primary: true }] : [],
      claims: identity,
      accessToken,
      refreshToken,
    };
  }

  async #api<T>(url: string, accessToken: string): Promise<T> {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', 'user-agent': 'latchkey' },
      signal: AbortSignal.timeout(PROVIDER_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`${new URL(url).pathname} answered ${response.status}`);
    return (await response.json()) as T;
  }

  /** GitHub: `/user` and `/user/emails` (on `api.github.com`, or `<URL>/api/v3` for GitHub Enterprise). */
  async #github(accessToken: string): Promise<Omit<ProviderProfile, 'accessToken' | 'refreshToken'>> {
    const base = this.settings.url === 'https://github.com' ? 'https://api.github.com' : `${this.settings.url}/api/v3`;
    const user = await this.#api<Record<string, unknown>>(`${base}/user`, accessToken);
    const listed = await this.#api<unknown>(`${base}/user/emails`, accessToken);
    const emails: ProviderEmail[] = [];
    for (const entry of Array.isArray(listed) ? (listed as Record<string, unknown>[]) : []) {
      const address = text(entry.email);
      if (address) emails.push({ email: address, verified: entry.verified === true, primary: entry.primary === true });
    }
    const id = text(user.id);
    const login = text(user.login);
    const name = text(user.name);
    const claims: Record<string, unknown> = { iss: base, sub: id, provider_id: id };
    if (name) Object.assign(claims, { name, full_name: name });
    if (login) Object.assign(claims, { preferred_username: login, user_name: login });
    if (text(user.avatar_url)) claims.avatar_url = text(user.avatar_url);
    return { subject: id, emails, claims };
  }

  /** GitLab: `/api/v4/user`; its address counts as verified once GitLab confirmed it (`confirmed_at`). */
  async #gitlab(accessToken: string): Promise<Omit<ProviderProfile, 'accessToken' | 'refreshToken'>> {
    const user = await this.#api<Record<string, unknown>>(`${this.settings.url}/api/v4/user`, accessToken);
    const id = text(user.id);
    const email = text(user.email);
    const name = text(user.name);
    const claims: Record<string, unknown> = { iss: this.settings.url, sub: id, provider_id: id };
    if (name) Object.assign(claims, { name, full_name: name });
    if (text(user.avatar_url)) Object.assign(claims, { picture: text(user.avatar_url), avatar_url: text(user.avatar_url) });
    return { subject: id, emails: email ? [{ email, verified: text(user.confirmed_at) !== '', primary: true }] : [], claims };
  }
}
