/**
 * `LatchkeyApi`: one object for a Latchkey deployment — sign-in against the identity service, an
 * authenticated `fetch` and JSON helper for the API, and the realtime client.
 *
 * @module
 */
import { systemClock, type Clock } from './clock.js';
import { HttpError, ReauthRequiredError } from './errors.js';
import { createHttpClient, type AuthenticatedFetch } from './http.js';
import { TokenManager, type RetryOptions } from './manager.js';
import { PasswordAuth } from './providers.js';
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions } from './realtime.js';
import type { TokenStore } from './stores/store.js';
import { processTokenResponseBody, readErrorBody } from './token-endpoint.js';
import type { TokenSet } from './token-set.js';

export interface LatchkeyApiOptions {
  /** The anon key, sent as the `apikey` header on every call (gateways in front of the service need it). */
  readonly anonKey?: string | undefined;
  /** Where the session lives. Default in memory. */
  readonly store?: TokenStore | undefined;
  /** Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch | undefined;
  readonly clock?: Clock | undefined;
  /** Seconds before expiry at which the access token is refreshed. Default 30. */
  readonly expirySkew?: number | undefined;
  readonly retry?: RetryOptions | undefined;
}

/** A user as the identity service returns it (GoTrue's shape). */
export interface User {
  readonly id: string;
  readonly email?: string;
  readonly phone?: string;
  readonly role?: string;
  readonly app_metadata?: Record<string, unknown>;
  readonly user_metadata?: Record<string, unknown>;
  readonly [field: string]: unknown;
}

/** The answer to a sign-in: the user and the session's tokens. */
export interface Session {
  readonly user: User | null;
  readonly tokens: TokenSet;
}

/** Scope of a logout: this session (`local`), every session of the user (`global`), or the others. */
export type LogoutScope = 'local' | 'global' | 'others';

/**
 * @example
 * ```ts
 * const api = new LatchkeyApi('http://127.0.0.1:8000', { anonKey });
 * await api.auth.login({ email: 'ada@example.com', password: 'correct horse' });
 * const notes = await api.request('GET', '/api/v1/notes');
 * await api.auth.logout();
 * ```
 */
export class LatchkeyApi {
  /** Base URL without a trailing slash. */
  readonly baseUrl: string;
  readonly tokens: TokenManager;
  /**
   * `fetch` with the session's bearer token; relative URLs resolve against `baseUrl`. The token (and the
   * anon key) are sent only to `baseUrl`'s origin.
   */
  readonly fetch: AuthenticatedFetch;
  readonly auth: AuthApi;
  /** The clock expiries are computed with. */
  readonly clock: Clock;
  readonly #options: LatchkeyApiOptions;

  constructor(baseUrl: string | URL, options: LatchkeyApiOptions = {}) {
    const base = new URL(baseUrl);
    this.baseUrl = base.toString().replace(/\/+$/, '');
    this.#options = options;
    this.clock = options.clock ?? systemClock;
    this.tokens = new TokenManager(null, {
      tokenUrl: `${this.baseUrl}/auth/v1/token`,
      protocol: 'gotrue',
      apiKey: options.anonKey,
      fetch: options.fetch,
      store: options.store,
      clock: options.clock,
      expirySkew: options.expirySkew,
      retry: options.retry,
    });
    this.fetch = createHttpClient(this.tokens, {
      baseUrl: `${this.baseUrl}/`,
      fetch: options.fetch,
      clock: options.clock,
      headers: options.anonKey ? { apikey: options.anonKey } : {},
      origins: [base.origin],
    });
    this.auth = new AuthApi(this);
  }

  /** Sends a request with the bearer token and returns the parsed JSON body; throws {@link HttpError} on an error status. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    return readJson<T>(await this.fetch(this.#resolve(path), init));
  }

  /** Sends a request without the session (public routes such as sign-up). */
  async anonymous<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    return readJson<T>(await this.anonymousResponse(method, path, body));
  }

  /** @internal */
  anonymousResponse(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const all: Record<string, string> = { accept: 'application/json', ...headers };
    if (this.#options.anonKey) all.apikey = this.#options.anonKey;
    if (body !== undefined) all['content-type'] = 'application/json';
    return (this.#options.fetch ?? globalThis.fetch)(this.#resolve(path), {
      method,
      headers: all,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  /** A realtime client on `<base>/connection/websocket` authenticated by this session. */
  realtime(options: RealtimeClientOptions = {}): RealtimeClient {
    const url = new URL('/connection/websocket', `${this.baseUrl}/`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return createRealtimeClient(url.toString(), this.tokens, options);
  }

  #resolve(path: string): string {
    return new URL(path.replace(/^\/+/, ''), `${this.baseUrl}/`).toString();
  }
}

/** The identity routes of {@link LatchkeyApi} (`/auth/v1`). */
export class AuthApi {
  readonly #api: LatchkeyApi;

  constructor(api: LatchkeyApi) {
    this.#api = api;
  }

  /**
   * Creates an account. When the service confirms sign-ups automatically the answer carries a session,
   * which becomes the current one; otherwise `tokens` is `null` until the address is confirmed.
   */
  async signUp(input: { email: string; password: string; data?: Record<string, unknown> }): Promise<{ user: User | null; tokens: TokenSet | null }> {
    const requestedAt = this.#api.clock.now();
    const response = await this.#api.anonymousResponse('POST', '/auth/v1/signup', input, { 'x-supabase-api-version': '2024-01-01' });
    if (!response.ok) await readJson(response);
    const body = (await response.clone().json()) as Record<string, unknown>;
    if (typeof body.access_token !== 'string') return { user: body as User, tokens: null };
    const { tokens } = await processTokenResponseBody(response, requestedAt, this.#api.clock.now());
    await this.#api.tokens.setTokens(tokens);
    return { user: (body.user as User | undefined) ?? null, tokens };
  }

  /** Signs in with e-mail (or E.164 phone) and password through `POST /auth/v1/token?grant_type=password`. */
  async login(input: { email: string; password: string }): Promise<Session> {
    const { tokens, body } = await this.#api.tokens.login(new PasswordAuth(input.email, input.password));
    return { user: (body.user as User | undefined) ?? null, tokens };
  }

  /** Refreshes the session now, whatever the expiry of its access token. */
  refreshToken(): Promise<TokenSet> {
    return this.#api.tokens.forceRefresh();
  }

  /**
   * The signed-in user (`GET /auth/v1/user`). When the server no longer knows the session
   * (`session_not_found`, e.g. after a global logout elsewhere) the session is cleared and
   * {@link ReauthRequiredError} is raised.
   */
  async user(): Promise<User> {
    try {
      return await this.#api.request<User>('GET', '/auth/v1/user');
    } catch (error) {
      if (error instanceof HttpError && (error.error === 'session_not_found' || error.error === 'user_not_found')) {
        await this.#api.tokens.clear();
        throw new ReauthRequiredError(`the session has ended (${error.error}); sign in again`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Ends the session on the server (`POST /auth/v1/logout?scope=…`) and forgets it locally. A session
   * the server no longer knows counts as ended. Default scope `local`: other devices stay signed in.
   */
  async logout(options: { scope?: LogoutScope } = {}): Promise<void> {
    const scope = options.scope ?? 'local';
    if (!['local', 'global', 'others'].includes(scope)) throw new TypeError('scope must be local, global or others');
    let tokens: TokenSet | null = null;
    try {
      tokens = await this.#api.tokens.getTokens();
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      // No usable session: nothing to revoke on the server.
    }
    if (tokens) {
      const response = await this.#api.fetch(`/auth/v1/logout?scope=${scope}`, { method: 'POST', headers: { authorization: tokens.authorizationHeader } });
      if (!response.ok && ![401, 403, 404].includes(response.status)) await readJson(response);
      await response.body?.cancel().catch(() => undefined);
    }
    if (scope !== 'others') await this.#api.tokens.clear();
  }
}

async function readJson<T>(response: Response): Promise<T> {
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  if (!response.ok) {
    const { error, description } = readErrorBody(body);
    throw new HttpError(response.status, `HTTP ${response.status}${error ? ` ${error}` : ''}${description ? `: ${description}` : ''}`, error, body);
  }
  return body as T;
}

