/**
 * `TokenManager`: keeps one session's access token valid, with one refresh at a time.
 *
 * @module
 */
import { backoffDelay } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import {
  NotLoggedInError,
  ReauthRequiredError,
  TokenEndpointError,
  TokenEndpointUnavailableError,
} from './errors.js';
import { Emitter } from './events.js';
import { refreshGrant, type AuthProvider } from './providers.js';
import { MemoryTokenStore } from './stores/memory.js';
import type { TokenStore } from './stores/store.js';
import {
  processTokenResponseBody,
  SESSION_ENDED_ERRORS,
  tokenRequest,
  type GrantFields,
  type TokenEndpoint,
  type TokenEndpointProtocol,
} from './token-endpoint.js';
import { TokenSet } from './token-set.js';

/** Retry policy for transient token endpoint failures. */
export interface RetryOptions {
  /** Tries per refresh, the first included. Default 4. */
  readonly attempts?: number;
  /** Backoff base (ms); attempt n waits a random time up to `base * 2^n`. Default 200. */
  readonly baseDelayMs?: number;
  /** Backoff cap (ms). Default 5000. */
  readonly maxDelayMs?: number;
  /** A `Retry-After` longer than this (ms) is not waited for: the failure is reported. Default 30 000. */
  readonly maxRetryAfterMs?: number;
}

export interface TokenManagerOptions {
  /** The token endpoint: `…/auth/v1/oauth/token` (OAuth) or `…/auth/v1/token` (GoTrue). */
  readonly tokenUrl: string | URL;
  /** Wire format of `tokenUrl`. Default `oauth`. */
  readonly protocol?: TokenEndpointProtocol | undefined;
  /** The anon key, sent as the `apikey` header. */
  readonly apiKey?: string | undefined;
  /** Extra headers for token requests. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch | undefined;
  /** Default a new {@link MemoryTokenStore}. */
  readonly store?: TokenStore | undefined;
  /** Seconds before expiry at which a token counts as expired and is refreshed. Default 30. */
  readonly expirySkew?: number | undefined;
  /** Default the system clock. */
  readonly clock?: Clock | undefined;
  readonly retry?: RetryOptions | undefined;
  /**
   * After a transient failure, how long (ms) a still-valid token is used without asking the endpoint
   * again (at least the server's `Retry-After`). Default 5000.
   */
  readonly failureCooldownMs?: number | undefined;
  /** Timeout of one token request (ms). Default 30 000. */
  readonly requestTimeoutMs?: number | undefined;
}

/** Why a session ended. */
export interface SignedOutEvent {
  /**
   * `logout`: {@link TokenManager.clear} was called; `session_ended`: the server refused the session;
   * `elsewhere`: another user of a shared store (another tab) cleared it.
   */
  readonly reason: 'logout' | 'session_ended' | 'elsewhere';
  readonly error?: Error;
}

/** Events of a {@link TokenManager}. */
export type TokenManagerEvents = {
  /** A new token set was obtained by a refresh grant. */
  refreshed: [tokens: TokenSet];
  /** A session was started with a provider's grant. */
  signedIn: [tokens: TokenSet];
  /** The session was cleared. */
  signedOut: [event: SignedOutEvent];
  /** Another user of a shared store (another tab) saved a token set, which this manager now uses. */
  adopted: [tokens: TokenSet];
  /** A refresh failed transiently; the session is kept. */
  refreshFailed: [error: TokenEndpointUnavailableError];
};

/** The raw successful token response, for callers that need more than the tokens (GoTrue's `user`). */
export interface GrantResult {
  readonly tokens: TokenSet;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * Keeps an access token valid for one session.
 *
 * - {@link TokenManager.authorizationHeader} returns at once while the token is valid; otherwise every
 *   caller shares one in-flight refresh (and, with a store that has `withLock`, processes share it too:
 *   the store is reloaded inside the lock, so a token another process already rotated is adopted
 *   instead of spending the old refresh token).
 * - {@link TokenManager.forceRefresh} after a 401 refreshes only if the rejected token is still current.
 * - Permanent failures (`invalid_grant`, `invalid_client`, GoTrue's `refresh_token_not_found`,
 *   `refresh_token_already_used`, `session_not_found`, …) clear the store, emit `signedOut` and raise
 *   {@link ReauthRequiredError} — unless the provider can sign in again by itself.
 * - Transient failures (network, 5xx, 408, 409, 429) are retried with jittered backoff honouring
 *   `Retry-After`; if they persist, a still-valid token is kept and `refreshFailed` is emitted.
 *
 * @example
 * ```ts
 * const manager = new TokenManager(new PasswordAuth('ada@example.com', 'secret'), {
 *   tokenUrl: 'http://127.0.0.1:8000/auth/v1/oauth/token',
 * });
 * const response = await fetch(url, { headers: { authorization: await manager.authorizationHeader() } });
 * ```
 */
export class TokenManager extends Emitter<TokenManagerEvents> {
  readonly store: TokenStore;
  readonly expirySkew: number;
  readonly #provider: AuthProvider | null;
  readonly #endpoint: TokenEndpoint;
  readonly #fetch: typeof fetch;
  readonly #clock: Clock;
  readonly #retry: Required<RetryOptions>;
  readonly #failureCooldownMs: number;
  readonly #requestTimeoutMs: number;
  /** `undefined`: not loaded yet; `null`: no session. */
  #cached: TokenSet | null | undefined;
  #inflight: Promise<TokenSet> | undefined;
  #providerUsed = false;
  #cooldown: { refreshToken: string | null; until: number; error: TokenEndpointUnavailableError } | undefined;
  #requests = 0;
  readonly #unsubscribe: (() => void) | undefined;

  /**
   * @param provider source of the first grant; `null` for a manager that only continues a session
   *   already in the store (or started with {@link TokenManager.login}).
   */
  constructor(provider: AuthProvider | null, options: TokenManagerOptions) {
    super();
    if (!options || !options.tokenUrl) throw new TypeError('tokenUrl is required');
    const tokenUrl = new URL(options.tokenUrl).toString();
    const protocol = options.protocol ?? 'oauth';
    if (protocol !== 'oauth' && protocol !== 'gotrue') throw new TypeError('protocol must be "oauth" or "gotrue"');
    const expirySkew = options.expirySkew ?? 30;
    if (!Number.isFinite(expirySkew) || expirySkew < 0) throw new TypeError('expirySkew must be a number of seconds >= 0');
    const retry = {
      attempts: options.retry?.attempts ?? 4,
      baseDelayMs: options.retry?.baseDelayMs ?? 200,
      maxDelayMs: options.retry?.maxDelayMs ?? 5000,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 30_000,
    };
    if (!Number.isInteger(retry.attempts) || retry.attempts < 1) throw new TypeError('retry.attempts must be an integer >= 1');
    for (const name of ['baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const) {
      if (!Number.isFinite(retry[name]) || retry[name] < 0) throw new TypeError(`retry.${name} must be >= 0`);
    }
    const failureCooldownMs = options.failureCooldownMs ?? 5000;
    if (!Number.isFinite(failureCooldownMs) || failureCooldownMs < 0) throw new TypeError('failureCooldownMs must be >= 0');
    const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    if (!Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0) throw new TypeError('requestTimeoutMs must be > 0');
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function') throw new TypeError('no fetch implementation available; pass options.fetch');

    this.#provider = provider;
    this.#endpoint = { url: tokenUrl, protocol, apiKey: options.apiKey, headers: options.headers };
    this.#fetch = fetchImpl;
    this.#clock = options.clock ?? systemClock;
    this.store = options.store ?? new MemoryTokenStore();
    this.expirySkew = expirySkew;
    this.#retry = retry;
    this.#failureCooldownMs = failureCooldownMs;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#unsubscribe = this.store.subscribe?.((tokens) => this.#storeChanged(tokens));
  }

  /** Stops following changes other users of a shared store make (see {@link TokenStore.subscribe}). */
  dispose(): void {
    this.#unsubscribe?.();
  }

  #storeChanged(tokens: TokenSet | null): void {
    const previous = this.#cached;
    if (tokens === null) {
      this.#cached = null;
      if (previous === null || previous === undefined) return;
      this.#cooldown = undefined;
      this.emit('signedOut', { reason: 'elsewhere' });
      return;
    }
    if (previous && previous.accessToken === tokens.accessToken) return;
    this.#cached = tokens;
    this.#cooldown = undefined;
    this.emit('adopted', tokens);
  }

  /** Whether a refresh is in flight right now. */
  get refreshing(): boolean {
    return this.#inflight !== undefined;
  }

  /** Token requests this manager has sent (successful or not). */
  get tokenRequests(): number {
    return this.#requests;
  }

  /** The `Authorization` header value for a valid access token, refreshing first if needed. */
  async authorizationHeader(): Promise<string> {
    return (await this.getTokens()).authorizationHeader;
  }

  /** A valid token set, refreshing first if needed. */
  async getTokens(): Promise<TokenSet> {
    const current = this.#cached === undefined ? await this.#load() : this.#cached;
    if (current && current.accessValid(this.expirySkew, this.#clock.now())) return current;
    return this.#refresh(undefined);
  }

  /** The session as last seen, without refreshing (`null` when there is none). */
  async peek(): Promise<TokenSet | null> {
    return this.#cached === undefined ? this.#load() : this.#cached;
  }

  /**
   * Refreshes because a resource server rejected `rejectedToken` (the access token, without scheme).
   * If the current token is already a different one, it is returned without a request, so a burst of
   * 401s costs one refresh. Without an argument the current token is refreshed unconditionally.
   */
  async forceRefresh(rejectedToken?: string): Promise<TokenSet> {
    const rejected = rejectedToken ?? (this.#cached === undefined ? await this.#load() : this.#cached)?.accessToken ?? '';
    if (this.#inflight) {
      const result = await this.#inflight;
      if (result.accessToken !== rejected) return result;
    }
    const current = this.#cached;
    if (current && current.accessToken !== rejected && current.accessValid(this.expirySkew, this.#clock.now())) return current;
    return this.#refresh(rejected);
  }

  /**
   * Starts a session with `provider`'s grant (or the manager's own provider), replacing any stored
   * session. Resolves with the tokens and the full response body (GoTrue answers with the `user`).
   */
  async login(provider: AuthProvider | null = this.#provider): Promise<GrantResult> {
    if (!provider) throw new NotLoggedInError('no provider to log in with');
    const run = async () => {
      const result = await this.#grantWithRetry(provider.grantFields());
      await this.store.save(result.tokens);
      this.#cached = result.tokens;
      this.#cooldown = undefined;
      if (provider === this.#provider) this.#providerUsed = true;
      this.emit('signedIn', result.tokens);
      return result;
    };
    const previous = this.#inflight;
    if (previous) await previous.catch(() => undefined);
    return this.store.withLock ? this.store.withLock(run) : run();
  }

  /** Adopts tokens obtained elsewhere (a sign-up answer, for example) as the session. */
  async setTokens(tokens: TokenSet): Promise<void> {
    const run = async () => {
      await this.store.save(tokens);
      this.#cached = tokens;
      this.#cooldown = undefined;
    };
    await (this.store.withLock ? this.store.withLock(run) : run());
  }

  /** Forgets the session (local logout): clears the store and emits `signedOut`. */
  async clear(): Promise<void> {
    const run = async () => {
      await this.store.clear();
      this.#cached = null;
      this.#cooldown = undefined;
    };
    await (this.store.withLock ? this.store.withLock(run) : run());
    this.emit('signedOut', { reason: 'logout' });
  }

  async #load(): Promise<TokenSet | null> {
    const loaded = await this.store.load();
    this.#cached = loaded;
    return loaded;
  }

  #refresh(rejected: string | undefined): Promise<TokenSet> {
    if (!this.#inflight) {
      const work = () => this.#renew(rejected);
      const promise = (this.store.withLock ? this.store.withLock(work) : work()).finally(() => {
        if (this.#inflight === promise) this.#inflight = undefined;
      });
      this.#inflight = promise;
    }
    return this.#inflight;
  }

  /** Runs inside the store's lock: reload, then refresh only if still needed. */
  async #renew(rejected: string | undefined): Promise<TokenSet> {
    const stored = await this.#load();
    const now = this.#clock.now();
    if (stored && stored.accessValid(this.expirySkew, now) && stored.accessToken !== rejected) return stored;

    const cooldown = this.#cooldown;
    if (stored && cooldown && cooldown.refreshToken === stored.refreshToken && now < cooldown.until) {
      if (stored.accessValid(0, now) && stored.accessToken !== rejected) return stored;
      throw cooldown.error;
    }

    const provider = this.#provider;
    const canUseProvider = provider !== null && (provider.canReauthenticate || (!this.#providerUsed && stored === null));
    // `fromStore`: the grant spends the stored refresh token; otherwise it is the provider's grant.
    let grant: GrantFields;
    let fromStore: boolean;
    if (stored && stored.refreshToken !== null && stored.refreshValid(this.expirySkew, now)) {
      grant = refreshGrant(stored.refreshToken, provider?.clientId);
      fromStore = true;
    } else if (canUseProvider) {
      grant = provider.grantFields();
      fromStore = false;
    } else if (stored) {
      const why = stored.refreshToken === null ? 'the access token expired and there is no refresh token' : 'the refresh token has expired';
      return this.#endSession(new ReauthRequiredError(`${why}; sign in again`));
    } else {
      throw new NotLoggedInError();
    }

    let result: GrantResult;
    try {
      result = await this.#grantWithRetry(grant);
    } catch (error) {
      if (error instanceof TokenEndpointUnavailableError) {
        this.#cooldown = {
          refreshToken: stored?.refreshToken ?? null,
          until: this.#clock.now() + Math.max(this.#failureCooldownMs, (error.retryAfter ?? 0) * 1000),
          error,
        };
        this.emit('refreshFailed', error);
        if (stored && stored.accessValid(0, this.#clock.now()) && stored.accessToken !== rejected) return stored;
        throw error;
      }
      if (!(error instanceof TokenEndpointError) || !SESSION_ENDED_ERRORS.has(error.error)) throw error;
      if (fromStore && canUseProvider) {
        try {
          result = await this.#grantWithRetry(provider.grantFields());
          fromStore = false;
          this.#markProviderUsed(provider);
        } catch (second) {
          if (second instanceof TokenEndpointError && SESSION_ENDED_ERRORS.has(second.error)) {
            return this.#endSession(new ReauthRequiredError(`the session has ended (${second.error}); sign in again`, { cause: second }));
          }
          throw second;
        }
      } else if (fromStore || stored || grant.grant_type === 'refresh_token') {
        // A refresh token (stored, or the one a RefreshTokenAuth started with) is dead: the session is over.
        if (!fromStore) this.#markProviderUsed(provider);
        return this.#endSession(new ReauthRequiredError(`the session has ended (${error.error}); sign in again`, { cause: error }));
      } else {
        throw error; // wrong credentials on a first sign-in
      }
    }

    let tokens = result.tokens;
    if (fromStore && tokens.refreshToken === null && stored) {
      // The server did not rotate: keep the refresh token we have (RFC 6749 §6).
      tokens = new TokenSet({ ...tokens, refreshToken: stored.refreshToken, refreshExpiresAt: stored.refreshExpiresAt });
    }
    if (!fromStore) this.#markProviderUsed(provider);
    await this.store.save(tokens);
    this.#cached = tokens;
    this.#cooldown = undefined;
    this.emit(grant.grant_type === 'refresh_token' && fromStore ? 'refreshed' : 'signedIn', tokens);
    return tokens;
  }

  #markProviderUsed(provider: AuthProvider | null): void {
    if (provider !== null && provider === this.#provider) this.#providerUsed = true;
  }

  async #endSession(error: ReauthRequiredError): Promise<never> {
    await this.store.clear();
    this.#cached = null;
    this.#cooldown = undefined;
    this.emit('signedOut', { reason: 'session_ended', error });
    throw error;
  }

  async #grantWithRetry(grant: GrantFields): Promise<GrantResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#grant(grant);
      } catch (error) {
        if (!(error instanceof TokenEndpointUnavailableError) || attempt + 1 >= this.#retry.attempts) throw error;
        const delay =
          error.retryAfter !== undefined ? error.retryAfter * 1000 : backoffDelay(attempt, this.#retry.baseDelayMs, this.#retry.maxDelayMs);
        if (delay > this.#retry.maxRetryAfterMs) throw error;
        await this.#clock.sleep(delay);
      }
    }
  }

  async #grant(grant: GrantFields): Promise<GrantResult> {
    const { url, init } = tokenRequest(this.#endpoint, grant);
    const requestedAt = this.#clock.now();
    this.#requests += 1;
    let response: Response;
    try {
      // Called unbound: a browser's fetch throws "Illegal invocation" when called as a method of another object.
      const send = this.#fetch;
      response = await send(url, { ...init, signal: AbortSignal.timeout(this.#requestTimeoutMs) });
    } catch (cause) {
      throw new TokenEndpointUnavailableError(`token endpoint unreachable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    }
    return processTokenResponseBody(response, requestedAt, this.#clock.now());
  }
}
