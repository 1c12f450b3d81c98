import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IdentityError, Messages, validationFailed } from '../errors.js';
import { endSessions } from '../end-sessions.js';
import { requireUser } from '../http/authenticate.js';
import { clientFacts } from '../http/client-address.js';
import { bodyOf, clientAddress, normaliseEmail, optionalObject, optionalString } from '../http/request.js';
import type { PhoneCodes } from '../phone/codes.js';
import { phoneSignUp } from '../phone/sign-in.js';
import { checkNewPassword } from '../passwords.js';
import type { RateLimiter } from '../rate-limit.js';
import type { IdentityRuntime, SignUpHooks } from '../runtime.js';
import { finishSession, startSession, type PreparedSession } from '../sessions.js';
import { userActor } from '../audit/audit-log.js';
import type { UserJson } from '../types.js';
import { isUniqueViolation, userJson } from '../users.js';
import { findUserByEmail, findUserById, insertEmailSignUp } from '../store/users.js';

function limit(runtime: IdentityRuntime, limiter: RateLimiter, request: FastifyRequest): void {
  if (!limiter.take(clientAddress(request, runtime.settings))) {
    throw new IdentityError(429, 'over_request_rate_limit', Messages.rateLimited);
  }
}

/** What a sign-up of an existing confirmed address answers without autoconfirm: a look-alike user, so existence does not leak. */
function lookalikeUser(runtime: IdentityRuntime, email: string): UserJson {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    aud: runtime.settings.audience,
    role: '',
    email,
    phone: '',
    confirmation_sent_at: now,
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {},
    identities: [],
    created_at: now,
    updated_at: now,
    is_anonymous: false,
  };
}

async function signUp(runtime: IdentityRuntime, phoneCodes: PhoneCodes, hooks: SignUpHooks, request: FastifyRequest): Promise<unknown> {
  const { settings } = runtime;
  limit(runtime, runtime.limits.signup, request);
  if (settings.disableSignup) throw new IdentityError(422, 'signup_disabled', Messages.signupDisabled);
  const body = bodyOf(request);
  const rawEmail = optionalString(body, 'email');
  const phone = optionalString(body, 'phone');
  const password = optionalString(body, 'password');
  const data = optionalObject(body, 'data') ?? {};
  if (!rawEmail && !phone) {
    if (hooks.anonymousSignIn) return hooks.anonymousSignIn(request);
    throw new IdentityError(422, 'anonymous_provider_disabled', Messages.anonymousDisabled);
  }
  if (!rawEmail) return phoneSignUp(runtime, phoneCodes, request);
  if (!settings.emailEnabled) throw new IdentityError(400, 'email_provider_disabled', Messages.emailSignupDisabled);
  const email = normaliseEmail(rawEmail);
  if (!password) throw validationFailed('Signup requires a valid password');
  checkNewPassword(password, settings.passwordMinLength);

  const existing = await findUserByEmail(runtime.db, email);
  if (existing) {
    if (settings.mailerAutoconfirm || !existing.email_confirmed_at) throw new IdentityError(422, 'user_already_exists', Messages.userAlreadyExists);
    return lookalikeUser(runtime, email);
  }

  const hash = await runtime.passwords.hash(password);
  const id = randomUUID();
  const confirmed = settings.mailerAutoconfirm;
  const identityData = { sub: id, email, email_verified: confirmed, phone_verified: false };
  try {
    const result = await runtime.db.transaction(async (tx): Promise<PreparedSession | UserJson> => {
      await insertEmailSignUp(tx, {
        id,
        audience: settings.audience,
        role: settings.defaultRole,
        email,
        passwordHash: hash,
        confirmed,
        userMetadata: { ...data, ...identityData },
        identityData,
      });
      const client = clientFacts(request, runtime.settings);
      const actor = { id, username: email, ...(data.full_name !== undefined ? { name: data.full_name } : {}) };
      const traits = { provider: 'email' };
      await runtime.audit.record(tx, { action: confirmed ? 'user_signedup' : 'user_confirmation_requested', actor, traits, ipAddress: client.ip });
      if (confirmed) return startSession(tx, runtime.issuer, id, { method: 'password', client, audit: { writer: runtime.audit, traits } });
      const user = await findUserById(tx, id);
      return userJson(user!);
    });
    if ('claims' in result) return await finishSession(runtime.issuer, result);
    await hooks.afterSignUpUnconfirmed(request, result.id, email);
    return result;
  } catch (error) {
    if (isUniqueViolation(error)) throw new IdentityError(422, 'user_already_exists', Messages.userAlreadyExists);
    throw error;
  }
}

const LOGOUT_SCOPES = ['global', 'local', 'others'] as const;

/** `/signup` and `/logout` (the grants of `/token` are in `grants/`). */
export function registerSessionRoutes(app: FastifyInstance, runtime: IdentityRuntime, deps: { readonly phone: PhoneCodes; readonly signUp: SignUpHooks }): void {
  app.post('/signup', (request) => signUp(runtime, deps.phone, deps.signUp, request));

  app.post<{ Querystring: { scope?: string } }>('/logout', async (request, reply) => {
    const scope = request.query.scope ?? 'global';
    if (!(LOGOUT_SCOPES as readonly string[]).includes(scope)) throw validationFailed(`Unsupported logout scope ${JSON.stringify(scope)}`);
    const { user, sessionId } = await requireUser(runtime, request);
    const which =
      scope === 'global' || sessionId === null ? {} : scope === 'local' ? { sessionIds: [sessionId] } : { exceptSessionId: sessionId };
    const event = await runtime.db.transaction(async (tx) => {
      await runtime.audit.record(tx, { action: 'logout', actor: userActor(user), ipAddress: clientAddress(request, runtime.settings) });
      return endSessions(tx, runtime.revocations, { kind: 'logout', userId: user.id, ...which });
    });
    if (event) await runtime.revocations.announce(event);
    return reply.code(204).send();
  });
}
