/**
 * Authentication providers: each one only produces the form fields of a grant. They never touch the
 * network; the {@link TokenManager} sends what they produce.
 *
 * @module
 */
import type { GrantFields } from './token-endpoint.js';

/** Source of the first grant of a session (and of later ones when it holds long-lived credentials). */
export interface AuthProvider {
  /** `client_id` sent with refresh grants, when the provider has one. */
  readonly clientId: string | undefined;
  /**
   * Whether {@link AuthProvider.grantFields} may be sent again once the session has ended (it holds a
   * password or client secret). A provider built on a single refresh token cannot.
   */
  readonly canReauthenticate: boolean;
  /** The grant that starts a session. */
  grantFields(): GrantFields;
}

/** Resource-owner password grant, with an optional TOTP code. */
export class PasswordAuth implements AuthProvider {
  readonly clientId: string | undefined;
  readonly canReauthenticate = true;
  readonly #username: string;
  readonly #password: string;
  readonly #totp: string | undefined;

  /**
   * @param username e-mail address (or phone number in E.164 form for the GoTrue endpoint)
   * @param options.totp current TOTP code, for accounts with a second factor (OAuth endpoint only)
   * @param options.clientId public client's id, sent as `client_id` when given
   */
  constructor(username: string, password: string, options: { totp?: string; clientId?: string } = {}) {
    if (!username) throw new TypeError('username must be a non-empty string');
    if (typeof password !== 'string') throw new TypeError('password must be a string');
    this.#username = username;
    this.#password = password;
    this.#totp = options.totp;
    this.clientId = options.clientId;
  }

  grantFields(): GrantFields {
    return {
      grant_type: 'password',
      username: this.#username,
      password: this.#password,
      ...(this.#totp !== undefined ? { totp: this.#totp } : {}),
      ...(this.clientId !== undefined ? { client_id: this.clientId } : {}),
    };
  }

  toJSON(): object {
    return { type: 'password', username: this.#username };
  }
}

/**
 * A session that starts from an existing refresh token. The token is spent on first use, so the
 * provider cannot sign in again once the session ends.
 */
export class RefreshTokenAuth implements AuthProvider {
  readonly clientId: string | undefined;
  readonly canReauthenticate = false;
  readonly #refreshToken: string;

  constructor(refreshToken: string, options: { clientId?: string } = {}) {
    if (!refreshToken) throw new TypeError('refreshToken must be a non-empty string');
    this.#refreshToken = refreshToken;
    this.clientId = options.clientId;
  }

  grantFields(): GrantFields {
    return refreshGrant(this.#refreshToken, this.clientId);
  }

  toJSON(): object {
    return { type: 'refresh_token' };
  }
}

/** Client credentials grant for a confidential client (secret sent in the body: `client_secret_post`). */
export class ClientCredentialsAuth implements AuthProvider {
  readonly clientId: string;
  readonly canReauthenticate = true;
  readonly #clientSecret: string;
  readonly #scope: string | undefined;

  constructor(clientId: string, clientSecret: string, options: { scope?: string } = {}) {
    if (!clientId) throw new TypeError('clientId must be a non-empty string');
    if (!clientSecret) throw new TypeError('clientSecret must be a non-empty string');
    this.clientId = clientId;
    this.#clientSecret = clientSecret;
    this.#scope = options.scope;
  }

  grantFields(): GrantFields {
    return {
      grant_type: 'client_credentials',
      client_id: this.clientId,
      client_secret: this.#clientSecret,
      ...(this.#scope !== undefined ? { scope: this.#scope } : {}),
    };
  }

  toJSON(): object {
    return { type: 'client_credentials', clientId: this.clientId };
  }
}

/** The refresh grant for `refreshToken`. */
export function refreshGrant(refreshToken: string, clientId: string | undefined): GrantFields {
  return { grant_type: 'refresh_token', refresh_token: refreshToken, ...(clientId !== undefined ? { client_id: clientId } : {}) };
}
