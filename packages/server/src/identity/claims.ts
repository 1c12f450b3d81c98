import { z } from 'zod';
import type { Queryable } from '../db/index.js';
import type { Logger } from '../logging/logger.js';
import { IdentityError } from './errors.js';
import type { KeyStore } from './keys/key-store.js';
import type { IdentitySettings } from './settings.js';
import type { AccessTokenClaims, AmrEntry, AuthenticationMethod, AuthenticatorAssuranceLevel } from './types.js';
import type { UserRow } from './users.js';

/** What a claims hook receives: the standard claims about to be signed. */
export interface ClaimsHookInput {
  readonly user_id: string;
  readonly claims: AccessTokenClaims;
  /** How the token came about: `password`, `token_refresh`, `email/signup`, … */
  readonly authentication_method: AuthenticationMethod | string;
}

/** What a claims hook returns: the claims to sign (the input's, changed or not). */
export interface ClaimsHookOutput {
  readonly claims: Record<string, unknown>;
}

/** Extra help for hooks: the open transaction the token is issued in. */
export interface ClaimsHookContext {
  readonly db: Queryable;
}

/**
 * An in-process custom access token hook, run at every issuance (logins, sign-ups and refreshes)
 * in registration order, each seeing the previous one's output — the in-process counterpart of
 * GoTrue's custom access token hook. Its output must keep the required claims (`aud, exp, iat, sub,
 * email, phone, role, aal, session_id, is_anonymous`); otherwise the request fails with 500 and the
 * reason is logged — a malformed token is never signed. Throwing an `IdentityError` refuses the
 * issuance with that error.
 *
 * @example
 * ```ts
 * identity.addClaimsHook(async ({ claims }) => ({
 *   claims: { ...claims, app_metadata: { ...claims.app_metadata, organization_id: 'org_1', org_role: 'owner' } },
 * }));
 * ```
 */
export type ClaimsHook = (input: ClaimsHookInput, context: ClaimsHookContext) => ClaimsHookOutput | Promise<ClaimsHookOutput>;

const HOOK_OUTPUT = z.object({
  claims: z.looseObject({
    aud: z.union([z.string(), z.array(z.string())]),
    exp: z.number().finite(),
    iat: z.number().finite(),
    sub: z.string(),
    email: z.string(),
    phone: z.string(),
    role: z.string().min(1),
    aal: z.string().min(1),
    session_id: z.string(),
    is_anonymous: z.boolean(),
    app_metadata: z.record(z.string(), z.unknown()).optional(),
    user_metadata: z.record(z.string(), z.unknown()).optional(),
    amr: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).optional(),
  }),
});

/** The session facts that go into a token. */
export interface SessionFacts {
  readonly id: string;
  readonly aal: AuthenticatorAssuranceLevel | string;
  readonly amr: readonly AmrEntry[];
}

/** A signed access token and its expiry. */
export interface IssuedAccessToken {
  readonly token: string;
  readonly expiresAt: number;
  readonly expiresIn: number;
}

/**
 * Builds access token claims, runs the claims hooks, validates their answer and signs. The signing
 * key is imported once by the {@link KeyStore}.
 */
export class AccessTokenIssuer {
  readonly hooks: ClaimsHook[] = [];
  readonly #keys: KeyStore;
  readonly #settings: IdentitySettings;
  readonly #issuer: () => string;
  readonly #logger: Logger;

  constructor(keys: KeyStore, settings: IdentitySettings, issuer: () => string, logger: Logger) {
    this.#keys = keys;
    this.#settings = settings;
    this.#issuer = issuer;
    this.#logger = logger;
  }

  /** The standard claims, in GoTrue's order. */
  claimsFor(user: UserRow, session: SessionFacts, now: number): AccessTokenClaims {
    const claims: AccessTokenClaims = {
      iss: this.#issuer(),
      sub: user.id,
      aud: user.aud,
      exp: now + this.#settings.jwtExpiry,
      iat: now,
      email: user.email ?? '',
      phone: user.phone ?? '',
      app_metadata: user.raw_app_meta_data,
      user_metadata: user.raw_user_meta_data,
      role: user.role,
      aal: session.aal,
      amr: [...session.amr],
      session_id: session.id,
      is_anonymous: user.is_anonymous,
    };
    if (!claims.iss) delete claims.iss;
    return claims;
  }

  async #runHooks(db: Queryable, input: ClaimsHookInput): Promise<Record<string, unknown>> {
    let claims: Record<string, unknown> = input.claims;
    for (const hook of this.hooks) {
      let output: unknown;
      try {
        output = await hook({ ...input, claims: claims as AccessTokenClaims }, { db });
      } catch (error) {
        if (error instanceof IdentityError) throw error;
        this.#logger.error({ reason: error instanceof Error ? error.message : String(error), user_id: input.user_id }, 'claims hook failed');
        throw new IdentityError(500, 'unexpected_failure', 'Error running the custom access token hook');
      }
      const parsed = HOOK_OUTPUT.safeParse(output);
      if (!parsed.success) {
        const reason = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(output)'}: ${issue.message}`).join('; ');
        this.#logger.error({ user_id: input.user_id, reason }, 'claims hook output does not conform to the required claims');
        throw new IdentityError(500, 'unexpected_failure', 'Error running the custom access token hook: output claims do not conform to the expected schema');
      }
      claims = parsed.data.claims;
    }
    return claims;
  }

  /**
   * Claims → hooks, inside the issuing transaction (`db`), so a hook that refuses or fails leaves
   * nothing behind. Returns the validated claims; {@link sign} them once the transaction commits, so the
   * row locks are not held while signing.
   */
  async prepare(db: Queryable, user: UserRow, session: SessionFacts, method: AuthenticationMethod | string): Promise<Record<string, unknown>> {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = this.claimsFor(user, session, now);
    if (this.hooks.length === 0) return claims;
    return this.#runHooks(db, { user_id: user.id, claims: claims as AccessTokenClaims, authentication_method: method });
  }

  /** Signs prepared claims with the current signing key. */
  async sign(claims: Record<string, unknown>): Promise<IssuedAccessToken> {
    const now = Math.floor(Date.now() / 1000);
    const token = await this.#keys.sign(claims);
    const expiresAt = typeof claims.exp === 'number' ? claims.exp : now + this.#settings.jwtExpiry;
    return { token, expiresAt, expiresIn: Math.max(0, expiresAt - now) };
  }
}
