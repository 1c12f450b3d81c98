import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../db/index.js';
import { userActor, type AuditWriter } from './audit/audit-log.js';
import type { AccessTokenIssuer, SessionFacts } from './claims.js';
import { IdentityError, Messages } from './errors.js';
import { digestToken, newRefreshToken } from './refresh-tokens.js';
import type { AmrEntry, AuthenticationMethod, AuthenticatorAssuranceLevel, TokenResponse } from './types.js';
import { isBanned, userJson, type UserRow } from './users.js';
import { findUserById } from './store/users.js';
import { insertSession } from './store/auth-sessions.js';

/** Where a login came from, kept on the session. */
export interface ClientFacts {
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
}

/** Options of {@link startSession}. */
export interface StartSessionOptions {
  /** How the user authenticated; becomes the first `amr` entry. Default `password`. */
  readonly method?: AuthenticationMethod;
  /** Default `aal1`. */
  readonly aal?: AuthenticatorAssuranceLevel;
  /** Methods verified in the same request after `method` (e.g. `totp`), newest first in `amr`. Default none. */
  readonly alsoVerified?: readonly AuthenticationMethod[];
  readonly client?: ClientFacts;
  /**
   * Records a `login` entry (with these `traits`) in the session's transaction. Default: nothing is
   * recorded (a session opened by switching organization is no login).
   */
  readonly audit?: { readonly writer: AuditWriter; readonly traits?: Readonly<Record<string, unknown>> };
  /**
   * Runs in the session's transaction once the session is written, before the claims hooks, so they see
   * what it records (switching organization records the one the session acts for). Throwing leaves
   * nothing behind. Default none.
   */
  readonly onSessionStarted?: (tx: Queryable, sessionId: string) => Promise<void>;
}

/** Assembles the token response the client stores as its session. */
export function tokenResponse(user: UserRow, access: { token: string; expiresAt: number; expiresIn: number }, refreshToken: string): TokenResponse {
  return {
    access_token: access.token,
    token_type: 'bearer',
    expires_in: access.expiresIn,
    expires_at: access.expiresAt,
    refresh_token: refreshToken,
    user: userJson(user),
  };
}

/**
 * Opens a session for `userId` inside `tx`: session row, first refresh token, `last_sign_in_at`, and
 * the access token's claims through the claims hooks. The caller owns the transaction, so a failing hook
 * leaves nothing behind; {@link finishSession} signs after commit.
 */
export async function startSession(tx: Queryable, issuer: AccessTokenIssuer, userId: string, options: StartSessionOptions = {}): Promise<PreparedSession> {
  const method = options.method ?? 'password';
  const now = Math.floor(Date.now() / 1000);
  const amr: AmrEntry[] = [...(options.alsoVerified ?? []).map((also) => ({ method: also, timestamp: now })), { method, timestamp: now }];
  const session: SessionFacts = { id: randomUUID(), aal: options.aal ?? 'aal1', amr };
  const refreshToken = newRefreshToken();
  const written = await insertSession(tx, {
    id: session.id,
    userId,
    aal: session.aal,
    amr,
    ip: options.client?.ip ?? null,
    userAgent: options.client?.userAgent?.slice(0, 512) ?? null,
    refreshTokenDigest: digestToken(refreshToken),
  });
  if (!written) throw new IdentityError(404, 'user_not_found', Messages.userNotFound);
  const user = await findUserById(tx, userId);
  if (!user) throw new IdentityError(404, 'user_not_found', Messages.userNotFound);
  if (isBanned(user)) throw new IdentityError(400, 'user_banned', Messages.userBanned);
  if (options.audit) {
    const { writer, traits } = options.audit;
    await writer.record(tx, { action: 'login', actor: userActor(user), ...(traits ? { traits } : {}), ipAddress: options.client?.ip });
  }
  await options.onSessionStarted?.(tx, session.id);
  const claims = await issuer.prepare(tx, user, session, method);
  return { user, claims, refreshToken };
}

/** What {@link startSession} leaves to do after commit: sign the prepared claims. */
export interface PreparedSession {
  readonly user: UserRow;
  readonly claims: Record<string, unknown>;
  readonly refreshToken: string;
}

/** Signs a prepared session's access token (after its transaction committed) and assembles the response. */
export async function finishSession(issuer: AccessTokenIssuer, prepared: PreparedSession): Promise<TokenResponse> {
  return tokenResponse(prepared.user, await issuer.sign(prepared.claims), prepared.refreshToken);
}

/**
 * Issues a session for a user id in its own transaction (for services built on the identity service,
 * such as organization switching or other login methods).
 */
export async function issueSession(
  db: Database,
  issuer: AccessTokenIssuer,
  userId: string,
  options: StartSessionOptions = {},
): Promise<TokenResponse> {
  const prepared = await db.transaction((tx) => startSession(tx, issuer, userId, options));
  return finishSession(issuer, prepared);
}
