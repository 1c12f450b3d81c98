import type { ClientTokenResponse } from '../oauth/client-token.js';
import { RateLimiter } from '../rate-limit.js';
import type { IdentityRuntime } from '../runtime.js';
import type { TokenResponse } from '../types.js';
import { clientCredentialsGrant, type ClientCredentialsInput } from './client-credentials.js';
import { idTokenGrant, web3Grant, type IdTokenInput } from './disabled.js';
import { passwordGrant, type PasswordInput } from './password.js';
import { pkceGrant, type PkceInput } from './pkce.js';
import { refreshTokenGrant, type RefreshTokenInput } from './refresh-token.js';
import type { Grant, GrantCaller, GrantContext } from './types.js';

/** Each grant's input, by `grant_type`. */
export interface GrantInputs {
  password: PasswordInput;
  refresh_token: RefreshTokenInput;
  pkce: PkceInput;
  id_token: IdTokenInput;
  web3: Record<string, never>;
  client_credentials: ClientCredentialsInput;
}

/** Each grant's answer, by `grant_type`. */
export interface GrantResults {
  password: TokenResponse;
  refresh_token: TokenResponse;
  pkce: TokenResponse;
  id_token: never;
  web3: never;
  client_credentials: ClientTokenResponse;
}

/** A `grant_type` the service knows. */
export type GrantType = keyof GrantInputs;

/** The table of grants: every token endpoint issues through these. */
const GRANTS: { readonly [K in GrantType]: Grant<GrantInputs[K], GrantResults[K]> } = {
  password: passwordGrant,
  refresh_token: refreshTokenGrant,
  pkce: pkceGrant,
  id_token: idTokenGrant,
  web3: web3Grant,
  client_credentials: clientCredentialsGrant,
};

/**
 * The one place tokens are granted. `/token?grant_type=*` (GoTrue's JSON errors), `/oauth/token`
 * (RFC 6749 errors) and the socket's `auth.login` / `auth.refresh` (Centrifugo reply errors) each read
 * their wire's input and write their wire's errors; the checks, the limits, the login throttle and the
 * issued session are the same for all of them.
 */
export class GrantService {
  readonly #context: GrantContext;

  constructor(runtime: IdentityRuntime, options: { readonly phoneEnabled: boolean }) {
    this.#context = { runtime, phoneEnabled: options.phoneEnabled, secondFactorAttempts: new RateLimiter(75, 15) };
  }

  /**
   * Runs grant `type` for `caller`: its admission (rate limit) first, then `read` — the wire's input
   * schema, whose refusals are the wire's own — then the grant's checks and issue. Throws
   * `IdentityError` or `OAuthError`.
   */
  async issue<K extends GrantType>(type: K, caller: GrantCaller, read: () => GrantInputs[K] | Promise<GrantInputs[K]>): Promise<GrantResults[K]> {
    const grant: Grant<GrantInputs[K], GrantResults[K]> = GRANTS[type];
    grant.admit?.(this.#context, caller);
    return grant.issue(this.#context, await read(), caller);
  }
}

/** Whether `value` names a grant of the service. */
export function isGrantType(value: string): value is GrantType {
  return Object.hasOwn(GRANTS, value);
}
