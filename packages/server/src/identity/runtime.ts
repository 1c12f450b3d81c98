import type { Database } from '../db/index.js';
import type { Logger } from '../logging/logger.js';
import type { AccessTokenIssuer } from './claims.js';
import type { ApiKeys } from './keys/api-keys.js';
import type { KeyStore } from './keys/key-store.js';
import type { RateLimiter } from './rate-limit.js';
import type { IdentitySettings } from './settings.js';

/** Everything the identity routes share, built once at mount. */
export interface IdentityRuntime {
  readonly db: Database;
  readonly settings: IdentitySettings;
  readonly keys: KeyStore;
  readonly issuer: AccessTokenIssuer;
  readonly apiKeys: ApiKeys;
  readonly logger: Logger;
  readonly limits: {
    /** Password grants per client address. */
    readonly token: RateLimiter;
    /** Refresh grants per session. */
    readonly refresh: RateLimiter;
    /** Sign-ups per client address. */
    readonly signup: RateLimiter;
  };
  /** The service's base URL, e.g. `http://127.0.0.1:8000/auth/v1`. */
  baseUrl(): string;
  /** `iss` of issued tokens. */
  jwtIssuer(): string;
}
