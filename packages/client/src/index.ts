/**
 * `@latchkey/client`: tokens, stores, providers, the token manager, an authenticated `fetch`, the API
 * facade and the realtime client. Runs in browsers and Node; Node-only parts (the file store, default
 * paths) are in `@latchkey/client/node`.
 *
 * @module
 */
export { systemClock, type Clock } from './clock.js';
export {
  HttpError,
  InvalidTokenResponseError,
  LatchkeyClientError,
  NotLoggedInError,
  ReauthRequiredError,
  StoreLockTimeoutError,
  TokenEndpointError,
  TokenEndpointUnavailableError,
  type ClientErrorCode,
} from './errors.js';
export { createHttpClient, type AuthenticatedFetch, type HttpClientOptions } from './http.js';
export {
  TokenManager,
  type GrantResult,
  type RetryOptions,
  type SignedOutEvent,
  type TokenManagerEvents,
  type TokenManagerOptions,
} from './manager.js';
export { ClientCredentialsAuth, PasswordAuth, RefreshTokenAuth, type AuthProvider } from './providers.js';
export { MemoryTokenStore } from './stores/memory.js';
export {
  StorageTokenStore,
  type KeyValueStorage,
  type StorageTokenStoreOptions,
  type TabChannel,
  type TabLocks,
} from './stores/storage.js';
export type { TokenStore } from './stores/store.js';
export { processTokenResponse, type GrantFields, type TokenEndpoint, type TokenEndpointProtocol } from './token-endpoint.js';
export { TokenSet, type TokenSetJSON } from './token-set.js';
export { AuthApi, LatchkeyApi, type LatchkeyApiOptions, type LogoutScope, type Session, type User } from './api.js';
export {
  createRealtimeClient,
  RealtimeAuthError,
  RealtimeCodes,
  type RealtimeClient,
  type RealtimeClientEvents,
  type RealtimeClientOptions,
  type SocketSignInOptions,
} from './realtime.js';
export { socketTokenFetch, type SocketTokenFetchOptions } from './socket-token.js';
