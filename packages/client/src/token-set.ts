/**
 * `TokenSet`: the tokens of one session and their absolute expiries.
 *
 * @module
 */

/** The JSON form of a {@link TokenSet}, as stores keep it. Times are milliseconds since the epoch. */
export interface TokenSetJSON {
  readonly access_token: string;
  readonly token_type: string;
  /** `null`: the server gave no lifetime; the token is used until a resource server rejects it. */
  readonly access_expires_at: number | null;
  /** `null`: no refresh token (client credentials, for example). */
  readonly refresh_token: string | null;
  /** `null` with a refresh token: no known expiry (GoTrue; Keycloak's `refresh_expires_in: 0`). */
  readonly refresh_expires_at: number | null;
}

/**
 * The tokens of one session. Immutable; expiries are absolute (milliseconds since the epoch), anchored
 * at the moment the token request was sent, so a slow response never makes a token look fresher than it
 * is.
 *
 * A missing refresh token (`refreshToken === null`) is different from a refresh token without a known
 * expiry (`refreshToken` set, `refreshExpiresAt === null`): the second stays usable until the server
 * refuses it.
 */
export class TokenSet {
  readonly accessToken: string;
  /** Normalised scheme for the Authorization header: `Bearer`. */
  readonly tokenType: string;
  readonly accessExpiresAt: number | null;
  readonly refreshToken: string | null;
  readonly refreshExpiresAt: number | null;

  constructor(fields: {
    accessToken: string;
    tokenType?: string | undefined;
    accessExpiresAt: number | null;
    refreshToken?: string | null | undefined;
    refreshExpiresAt?: number | null | undefined;
  }) {
    if (typeof fields.accessToken !== 'string' || fields.accessToken === '') throw new TypeError('accessToken must be a non-empty string');
    this.accessToken = fields.accessToken;
    this.tokenType = normaliseTokenType(fields.tokenType ?? 'Bearer');
    this.accessExpiresAt = fields.accessExpiresAt;
    this.refreshToken = fields.refreshToken ?? null;
    this.refreshExpiresAt = this.refreshToken === null ? null : (fields.refreshExpiresAt ?? null);
  }

  /**
   * Whether the access token can still be sent: true when its expiry is unknown, otherwise
   * `now < accessExpiresAt - skewSeconds`.
   *
   * @param skewSeconds margin before the expiry. Default 0.
   * @param now current time in milliseconds. Default `Date.now()`.
   */
  accessValid(skewSeconds = 0, now: number = Date.now()): boolean {
    return this.accessExpiresAt === null || now < this.accessExpiresAt - skewSeconds * 1000;
  }

  /**
   * Whether the refresh token can be spent: false without a refresh token, true when its expiry is
   * unknown, otherwise `now < refreshExpiresAt - skewSeconds`.
   */
  refreshValid(skewSeconds = 0, now: number = Date.now()): boolean {
    if (this.refreshToken === null) return false;
    return this.refreshExpiresAt === null || now < this.refreshExpiresAt - skewSeconds * 1000;
  }

  /** The `Authorization` header value, e.g. `Bearer eyJ…`. */
  get authorizationHeader(): string {
    return `${this.tokenType} ${this.accessToken}`;
  }

  toJSON(): TokenSetJSON {
    return {
      access_token: this.accessToken,
      token_type: this.tokenType,
      access_expires_at: this.accessExpiresAt,
      refresh_token: this.refreshToken,
      refresh_expires_at: this.refreshExpiresAt,
    };
  }

  /** Reads the stored form back; throws `TypeError` when `value` is not one. */
  static fromJSON(value: unknown): TokenSet {
    if (typeof value !== 'object' || value === null) throw new TypeError('a token set must be a JSON object');
    const record = value as Record<string, unknown>;
    const time = (name: string): number | null => {
      const field = record[name];
      if (field === null || field === undefined) return null;
      if (typeof field !== 'number' || !Number.isFinite(field)) throw new TypeError(`${name} must be a number or null`);
      return field;
    };
    const refresh = record.refresh_token;
    if (refresh !== null && refresh !== undefined && (typeof refresh !== 'string' || refresh === '')) {
      throw new TypeError('refresh_token must be a non-empty string or null');
    }
    if (typeof record.access_token !== 'string') throw new TypeError('access_token must be a string');
    if (record.token_type !== undefined && typeof record.token_type !== 'string') throw new TypeError('token_type must be a string');
    return new TokenSet({
      accessToken: record.access_token,
      tokenType: record.token_type,
      accessExpiresAt: time('access_expires_at'),
      refreshToken: (refresh) ?? null,
      refreshExpiresAt: time('refresh_expires_at'),
    });
  }
}

/** `bearer` in any case → `Bearer`; anything else is not supported (no DPoP proofs here). */
export function normaliseTokenType(value: string): string {
  if (value.toLowerCase() === 'bearer') return 'Bearer';
  throw new TypeError(`unsupported token_type "${value}"`);
}
