import type { FastifyRequest } from 'fastify';
import type { Database } from '../db/index.js';
import type { Logger } from '../logging/logger.js';
import type { Revocations } from '../revocation/types.js';
import type { AuditWriter } from './audit/audit-log.js';
import type { AccessTokenIssuer } from './claims.js';
import type { ApiKeys } from './keys/api-keys.js';
import type { KeyStore } from './keys/key-store.js';
import type { LoginThrottle } from './login-throttle.js';
import type { RateLimiter } from './rate-limit.js';
import type { IdentitySettings } from './settings.js';
import type { PasswordHasher } from './passwords.js';

/** What the one-time-code module adds to `/signup` (returned by `registerOtpRoutes`, handed to the sign-up route). */
export interface SignUpHooks {
  /** Called after a sign-up that needs email confirmation (sends the confirmation mail). */
  readonly afterSignUpUnconfirmed: (request: FastifyRequest, userId: string, email: string) => Promise<void>;
  /** Answers `/signup` without email or phone; absent when anonymous sign-ins are disabled. */
  readonly anonymousSignIn?: (request: FastifyRequest) => Promise<unknown>;
}

/** Everything the identity routes share, built once at mount. */
export interface IdentityRuntime {
  readonly db: Database;
  readonly settings: IdentitySettings;
  readonly keys: KeyStore;
  readonly issuer: AccessTokenIssuer;
  readonly apiKeys: ApiKeys;
  readonly logger: Logger;
  /** Where routes that end sessions record and announce the revocation event (`context.revocations`). */
  readonly revocations: Revocations;
  /** Where routes record what they did (`auth.audit_log_entries`), in the transaction of the action. */
  readonly audit: AuditWriter;
  readonly limits: {
    /** Password grants per client address. */
    readonly token: RateLimiter;
    /** Refresh grants per session. */
    readonly refresh: RateLimiter;
    /** Sign-ups per client address. */
    readonly signup: RateLimiter;
  };
  /** Failed password logins per account and per address, shared by every node. */
  readonly logins: LoginThrottle;
  /** Hashes and checks passwords off the event loop. */
  readonly passwords: PasswordHasher;
  /** The service's base URL, e.g. `http://127.0.0.1:8000/auth/v1`. */
  baseUrl(): string;
  /** `iss` of issued tokens. */
  jwtIssuer(): string;
}
