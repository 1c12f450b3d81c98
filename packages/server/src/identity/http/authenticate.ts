import type { FastifyRequest } from 'fastify';
import { IdentityError, Messages } from '../errors.js';
import { API_KEY_ISSUER } from '../keys/api-keys.js';
import type { VerifiedClaims } from '../keys/key-store.js';
import type { IdentityRuntime } from '../runtime.js';
import { isBanned, isUuid, type UserRow } from '../users.js';
import { findUserWithSession } from '../store/users.js';
import { bearerToken, sameSecret } from './request.js';

/** A request authenticated as a user: verified claims, the user row, the session id (if any). */
export interface UserAuthentication {
  readonly claims: VerifiedClaims;
  readonly user: UserRow;
  readonly sessionId: string | null;
}

/**
 * Verifies the bearer JWT and loads its user and session in one query. 401 `no_authorization`
 * without a token, 403 `bad_jwt` for a bad one, 403 `user_not_found` / `session_not_found` when the
 * `sub` / `session_id` no longer exist or the session ended (logged out, expired, its refresh token
 * reused), 403 `user_banned` for a banned user.
 */
export async function requireUser(runtime: IdentityRuntime, request: FastifyRequest): Promise<UserAuthentication> {
  return liveUser(runtime, await runtime.keys.verify(bearerToken(request)));
}

/** The user and session of verified `claims`, refused as {@link requireUser} describes. */
async function liveUser(runtime: IdentityRuntime, claims: VerifiedClaims): Promise<UserAuthentication> {
  if (claims.sub === undefined || claims.sub === '') throw new IdentityError(403, 'bad_jwt', 'invalid claim: missing sub claim');
  if (!isUuid(claims.sub)) throw new IdentityError(400, 'bad_jwt', 'invalid claim: sub claim must be a UUID');
  const sessionId = typeof claims.session_id === 'string' && claims.session_id !== '' ? claims.session_id : null;
  if (sessionId !== null && !isUuid(sessionId)) throw new IdentityError(403, 'session_not_found', Messages.sessionFromClaimMissing);
  const row = await findUserWithSession(runtime.db, claims.sub, sessionId);
  if (!row) throw new IdentityError(403, 'user_not_found', Messages.userFromSubMissing);
  if (!row.session_found) throw new IdentityError(403, 'session_not_found', Messages.sessionFromClaimMissing);
  if (isBanned(row)) throw new IdentityError(403, 'user_banned', Messages.userBanned);
  return { claims, user: row, sessionId };
}

/** An admin token's role (e.g. `service_role`), as the audit log names its actor. */
export interface AdminAuthentication {
  readonly kind: 'service';
  readonly role: string;
}

/** Who a request acts as: the service role, or a user as {@link requireUser} loads them. */
export type RequestActor = AdminAuthentication | ({ readonly kind: 'user' } & UserAuthentication);

const SERVICE: AdminAuthentication = { kind: 'service', role: 'service_role' };

/** The service role, or the verified claims of a non-admin token (with its user when already loaded). */
type Classified = AdminAuthentication | { readonly kind: 'user'; readonly claims: VerifiedClaims; readonly auth?: UserAuthentication };

/** Verifies the bearer once and decides whether it opens the admin API, as {@link requireAdmin} describes. */
async function classify(runtime: IdentityRuntime, request: FastifyRequest): Promise<Classified> {
  const token = bearerToken(request);
  if (sameSecret(token, runtime.apiKeys.serviceRoleKey)) return SERVICE;
  const claims = await runtime.keys.verify(token);
  if (typeof claims.role !== 'string' || !runtime.settings.adminRoles.includes(claims.role)) return { kind: 'user', claims };
  // An API key this service signed (`iss: latchkey`, no `sub`) counts only while it is the configured key.
  if (claims.iss === API_KEY_ISSUER && claims.sub === undefined) return { kind: 'user', claims };
  const admin: AdminAuthentication = { kind: 'service', role: claims.role };
  if (typeof claims.sub !== 'string' || !isUuid(claims.sub)) return admin;
  const auth = await liveUser(runtime, claims);
  return runtime.settings.adminRoles.includes(auth.user.role) ? admin : { kind: 'user', claims, auth };
}

/**
 * Admin routes: the bearer is the configured service_role key, or a verified JWT whose `role` is one
 * of `adminRoles` (GoTrue: no `sub` or `exp` needed). Otherwise 401 / 403 `bad_jwt` / 403 `not_admin`.
 * A user's access token (a UUID `sub`) opens them only while its session lasts and the user still
 * holds an admin role: logout, ban, deletion or a role change close the admin API to it at once
 * (403 as {@link requireUser}, or `not_admin`). An API key signed by this service that is no longer the
 * configured service_role key (replaced through `LATCHKEY_SERVICE_ROLE_KEY`) is refused.
 */
export async function requireAdmin(runtime: IdentityRuntime, request: FastifyRequest): Promise<AdminAuthentication> {
  const actor = await classify(runtime, request);
  if (actor.kind !== 'service') throw new IdentityError(403, 'not_admin', Messages.notAdmin);
  return actor;
}

/**
 * The service role when the request would pass {@link requireAdmin}, else its user as
 * {@link requireUser} loads them (and refuses them) — with the token verified once.
 */
export async function requireActor(runtime: IdentityRuntime, request: FastifyRequest): Promise<RequestActor> {
  const actor = await classify(runtime, request);
  if (actor.kind === 'service') return actor;
  return { kind: 'user', ...(actor.auth ?? (await liveUser(runtime, actor.claims))) };
}
