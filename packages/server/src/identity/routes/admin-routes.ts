import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { endSessions } from '../end-sessions.js';
import { IdentityError, Messages, validationFailed } from '../errors.js';
import { requireAdmin } from '../http/authenticate.js';
import { bodyOf, clientAddress, normaliseEmail, normalisePhone, optionalBoolean, optionalObject, optionalString } from '../http/request.js';
import { checkNewPassword, isBcryptHash } from '../passwords.js';
import type { IdentityRuntime } from '../runtime.js';
import { adminTargetUser, isUniqueViolation, isUuid, userJson } from '../users.js';
import * as users from '../store/users.js';
import { mergeMetadata } from './user-routes.js';
import { adminActor, type AuditActor } from '../audit/audit-log.js';
import type { AdminAuthentication } from '../http/authenticate.js';
import { pageOf, setPageHeaders } from '../http/pagination.js';

/** `traits` of an admin action on a user, as GoTrue records them. */
function userTraits(user: { id: string; email: string | null; phone: string | null }): Record<string, unknown> {
  return { user_id: user.id, user_email: user.email ?? '', user_phone: user.phone ?? '' };
}

const GO_DURATION = /^[+-]?(?:0|(?:(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h))+)$/;
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration (`24h`, `1h30m`) or `none`; returns milliseconds (0 for `none`). */
export function parseBanDuration(value: string): number {
  if (value === 'none') return 0;
  if (!GO_DURATION.test(value)) throw validationFailed(`invalid format for ban duration: time: invalid duration ${JSON.stringify(value)}`);
  let total = 0;
  for (const match of value.matchAll(/(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) total += Number(match[1]) * UNIT_MS[match[2]!]!;
  // A negative duration bans until a time already past: no ban, as in GoTrue.
  return value.startsWith('-') ? -total : total;
}

/** A password or a bcrypt `password_hash` from an admin body, hashed; a random one when neither is given. */
async function passwordHashFrom(runtime: IdentityRuntime, body: Record<string, unknown>, required: boolean): Promise<string | undefined> {
  const password = optionalString(body, 'password');
  const passwordHash = optionalString(body, 'password_hash');
  if (password !== undefined && passwordHash !== undefined && passwordHash !== '') throw validationFailed('Only a password or a password hash should be provided');
  if (passwordHash !== undefined && passwordHash !== '') {
    if (!isBcryptHash(passwordHash)) throw validationFailed('Invalid password hash format: only bcrypt ($2a$, $2b$, $2y$) hashes are supported', 400);
    return passwordHash;
  }
  if (password !== undefined && password !== '') {
    checkNewPassword(password, runtime.settings.passwordMinLength);
    return runtime.passwords.hash(password);
  }
  return required ? runtime.passwords.hash(randomBytes(32).toString('base64url').slice(0, 64)) : undefined;
}

/** What the admin API does beyond the runtime's settings. */
export interface AdminRouteOptions {
  /** Setting a user's password ends every session of the user (`LATCHKEY_PASSWORD_CHANGE_ENDS_SESSIONS`). Default true. */
  readonly passwordChangeEndsSessions?: boolean;
}

/**
 * The admin API under `/admin/users`, for service_role (and other admin-role) tokens. Setting a
 * user's password ends all their sessions with a `password_changed` event (unless turned off), as a
 * ban or a deletion ends them with theirs; changing the user's `role` records a `role_changed` event
 * selecting the user, so tokens with the old role are refused and clients fetch new ones.
 */
export function registerAdminRoutes(app: FastifyInstance, runtime: IdentityRuntime, options: AdminRouteOptions = {}): void {
  const passwordChangeEndsSessions = options.passwordChangeEndsSessions ?? true;
  app.register(async (admin) => {
    const admins = new WeakMap<FastifyRequest, AdminAuthentication>();
    admin.addHook('preHandler', async (request) => {
      admins.set(request, await requireAdmin(runtime, request));
    });
    const actorOf = (request: FastifyRequest): AuditActor => adminActor(admins.get(request)?.role);
    const ipOf = (request: FastifyRequest) => clientAddress(request, runtime.settings);

    admin.get<{ Querystring: { page?: string; per_page?: string } }>('/admin/users', async (request, reply) => {
      const { page, perPage } = pageOf(request.query);
      const [list, count] = await Promise.all([
        users.listUsers(runtime.db, runtime.settings.audience, perPage, (page - 1) * perPage),
        users.countUsers(runtime.db, runtime.settings.audience),
      ]);
      setPageHeaders(request, reply, { page, perPage }, count);
      return { users: list.map(userJson), aud: runtime.settings.audience };
    });

    admin.post('/admin/users', async (request) => {
      const body = bodyOf(request);
      const rawEmail = optionalString(body, 'email');
      const rawPhone = optionalString(body, 'phone');
      if (!rawEmail && !rawPhone) throw validationFailed('Cannot create a user without either an email or phone');
      const email = rawEmail ? normaliseEmail(rawEmail) : null;
      const phone = rawPhone ? normalisePhone(rawPhone) : null;
      const rawId = optionalString(body, 'id') || undefined;
      if (rawId !== undefined && !isUuid(rawId)) throw validationFailed('ID must conform to the uuid v4 format');
      if (rawId !== undefined && /^[0-]+$/.test(rawId)) throw validationFailed('ID cannot be a nil uuid');
      const id = rawId?.toLowerCase() ?? randomUUID();
      const role = optionalString(body, 'role') || runtime.settings.defaultRole;
      const emailConfirm = optionalBoolean(body, 'email_confirm') ?? false;
      const phoneConfirm = optionalBoolean(body, 'phone_confirm') ?? false;
      const banDuration = optionalString(body, 'ban_duration');
      const banMs = banDuration ? parseBanDuration(banDuration) : 0;
      const userMetadata = optionalObject(body, 'user_metadata') ?? {};
      const appMetadata = optionalObject(body, 'app_metadata') ?? {};
      const hash = await passwordHashFrom(runtime, body, true);
      const providers = [...(email ? ['email'] : []), ...(phone ? ['phone'] : [])];
      try {
        const user = await runtime.db.transaction(async (tx) => {
          const taken = await users.insertUser(tx, {
            id,
            audience: runtime.settings.audience,
            role,
            email,
            phone,
            passwordHash: hash!,
            emailConfirm,
            phoneConfirm,
            appMetadata,
            userMetadata,
            banMs,
          });
          if (taken === 'email') throw new IdentityError(422, 'email_exists', Messages.emailExists);
          if (taken === 'phone') throw new IdentityError(422, 'phone_exists', Messages.phoneExists);
          await runtime.audit.record(tx, { action: 'user_signedup', actor: actorOf(request), traits: { ...userTraits({ id, email, phone }), provider: providers[0] }, ipAddress: ipOf(request) });
          return users.findUserById(tx, id);
        });
        return userJson(user!);
      } catch (error) {
        if (isUniqueViolation(error, 'users_pkey')) throw new IdentityError(422, 'user_already_exists', Messages.userAlreadyExists);
        if (isUniqueViolation(error, 'users_phone_key')) throw new IdentityError(422, 'phone_exists', Messages.phoneExists);
        if (isUniqueViolation(error)) throw new IdentityError(422, 'email_exists', Messages.emailExists);
        throw error;
      }
    });

    admin.get<{ Params: { id: string } }>('/admin/users/:id', async (request) => userJson(await adminTargetUser(runtime.db, request.params.id)));

    admin.put<{ Params: { id: string } }>('/admin/users/:id', async (request) => {
      const user = await adminTargetUser(runtime.db, request.params.id);
      const id = user.id;
      const body = bodyOf(request);
      const rawEmail = optionalString(body, 'email');
      const rawPhone = optionalString(body, 'phone');
      const email = rawEmail ? normaliseEmail(rawEmail) : undefined;
      const phone = rawPhone ? normalisePhone(rawPhone) : undefined;
      const role = optionalString(body, 'role');
      const emailConfirm = optionalBoolean(body, 'email_confirm');
      const phoneConfirm = optionalBoolean(body, 'phone_confirm');
      const banDuration = optionalString(body, 'ban_duration');
      const banMs = banDuration ? parseBanDuration(banDuration) : undefined;
      const userMetadata = optionalObject(body, 'user_metadata');
      const appMetadata = optionalObject(body, 'app_metadata');
      const hash = await passwordHashFrom(runtime, body, false);
      try {
        const { updated, events } = await runtime.db.transaction(async (tx) => {
          if (role) await users.setRole(tx, id, role);
          if (hash) await users.replacePasswordHash(tx, id, hash);
          if (emailConfirm) await users.markEmailConfirmed(tx, id);
          if (phoneConfirm) await users.markPhoneConfirmed(tx, id);
          if (email && email !== user.email) {
            if (await users.emailTaken(tx, email, id)) throw new IdentityError(422, 'email_exists', Messages.emailExists);
            await users.changeEmail(tx, id, email, true);
          }
          if (phone && phone !== user.phone) await users.setPhone(tx, id, phone);
          if (userMetadata) {
            const current = await users.readUserMetadata(tx, id);
            await users.setUserMetadata(tx, id, mergeMetadata(current ?? user.raw_user_meta_data, userMetadata));
          }
          if (appMetadata) await users.setAppMetadata(tx, id, mergeMetadata(user.raw_app_meta_data, appMetadata));
          if (banMs !== undefined) await users.setBan(tx, id, banMs);
          // A ban ends every access the user holds now; lifting one (`none`) ends nothing.
          const banned = banMs !== undefined && banMs > 0 ? await runtime.revocations.record(tx, { kind: 'user_banned', userId: id }) : null;
          const ended = hash && passwordChangeEndsSessions ? await endSessions(tx, runtime.revocations, { kind: 'password_changed', userId: id }) : null;
          // The user's tokens carry the old role: they are refused, so clients fetch ones with the new role.
          const regranted = role && role !== user.role ? await runtime.revocations.record(tx, { kind: 'role_changed', userId: id }) : null;
          const updated = await users.findUserById(tx, id);
          await runtime.audit.record(tx, { action: 'user_modified', actor: actorOf(request), traits: userTraits(updated!), ipAddress: ipOf(request) });
          return { updated, events: [banned, ended, regranted] };
        });
        for (const event of events) if (event) await runtime.revocations.announce(event);
        return userJson(updated!);
      } catch (error) {
        if (isUniqueViolation(error, 'users_phone_key')) throw new IdentityError(422, 'phone_exists', Messages.phoneExists);
        if (isUniqueViolation(error)) throw new IdentityError(422, 'email_exists', Messages.emailExists);
        throw error;
      }
    });

    admin.delete<{ Params: { id: string } }>('/admin/users/:id', async (request) => {
      const user = await adminTargetUser(runtime.db, request.params.id);
      const id = user.id;
      const soft = optionalBoolean(bodyOf(request), 'should_soft_delete') ?? false;
      if (!soft) {
        const deleted = await runtime.db.transaction(async (tx) => {
          await runtime.audit.record(tx, { action: 'user_deleted', actor: actorOf(request), traits: userTraits(user), ipAddress: ipOf(request) });
          const removed = await users.deleteUser(tx, id);
          // A user soft-deleted before has had its event already.
          return removed && !user.deleted_at ? runtime.revocations.record(tx, { kind: 'user_deleted', userId: id }) : null;
        });
        if (deleted) await runtime.revocations.announce(deleted);
        return {};
      }
      if (user.deleted_at) return {};
      const deleted = await runtime.db.transaction(async (tx) => {
        await runtime.audit.record(tx, { action: 'user_deleted', actor: actorOf(request), traits: userTraits(user), ipAddress: ipOf(request) });
        return (await users.softDeleteUser(tx, id)) ? runtime.revocations.record(tx, { kind: 'user_deleted', userId: id }) : null;
      });
      if (deleted) await runtime.revocations.announce(deleted);
      return {};
    });
  });
}
