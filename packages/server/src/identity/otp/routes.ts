import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Queryable } from '../../db/index.js';
import { IdentityError, Messages, validationFailed } from '../errors.js';
import { bodyOf, clientAddress, normaliseEmail, optionalBoolean, optionalObject, optionalString } from '../http/request.js';
import { RateLimiter } from '../rate-limit.js';
import type { IdentityRuntime, SignUpHooks } from '../runtime.js';
import { finishSession, startSession, type PreparedSession } from '../sessions.js';
import type { AuthenticationMethod, TokenResponse } from '../types.js';
import { isBanned, isUniqueViolation, type UserRow } from '../users.js';
import { confirmEmail, findUserByEmail, findUserById, insertAnonymousUser, insertPasswordlessUser, markConfirmationSent } from '../store/users.js';
import { deleteFlowState } from '../store/flow-state.js';
import { userActor, type AuditAction } from '../audit/index.js';
import { createFlowState, issueAuthCode, pkceChallenge, type PkceChallenge } from './flow-state.js';
import type { CodeMailer } from './code-mail.js';
import { EMAIL_CHANGE_TOKENS, SINGLE_CONFIRMATION, confirmEmailChange, requestEmailChange } from './email-change.js';
import { composeMail, type MailKind } from './messages.js';
import { consumeOneTimeCode, consumeOneTimeToken, issueOneTimeToken, linkAddress, type OneTimeTokenRow, type OneTimeTokenType, type SignInTokenType } from './tokens.js';
import type { PhoneCodes } from '../phone/codes.js';
import { phoneOf, phoneOtp, phoneResend } from '../phone/sign-in.js';
import { verifyPhoneCode } from '../phone/verify.js';

const OTP_EXPIRED = 'Token has expired or is invalid';
const LINK_EXPIRED = 'Email link is invalid or has expired';

/** Verify types of `/verify` and the token types each accepts. */
const VERIFY_TYPES: Record<string, readonly OneTimeTokenType[]> = {
  signup: ['confirmation'],
  magiclink: ['magiclink'],
  recovery: ['recovery'],
  email: ['confirmation', 'magiclink'],
  invite: ['confirmation'],
  email_change: EMAIL_CHANGE_TOKENS,
};

const TOKEN_METHOD: Record<OneTimeTokenType, AuthenticationMethod> = {
  confirmation: 'email/signup',
  magiclink: 'magiclink',
  recovery: 'recovery',
  email_change_current: 'email_change',
  email_change_new: 'email_change',
  reauthentication: 'otp',
  phone_change: 'otp',
};
const MAIL_KIND: Record<SignInTokenType, MailKind> = { confirmation: 'signup', magiclink: 'magiclink', recovery: 'recovery' };
const LINK_TYPE: Record<SignInTokenType, string> = { confirmation: 'signup', magiclink: 'magiclink', recovery: 'recovery' };
/** What the audit log records when such a token is mailed (GoTrue counts a magic link as a recovery request). */
const MAILED_ACTION: Record<SignInTokenType, AuditAction> = {
  confirmation: 'user_confirmation_requested',
  magiclink: 'user_recovery_requested',
  recovery: 'user_recovery_requested',
};

/** What the one-time code routes need besides the runtime. */
export interface OtpDependencies {
  readonly mail: CodeMailer;
  /** Texted codes: `/otp`, `/resend` and `/verify` with a `phone`. */
  readonly phone: PhoneCodes;
}

/**
 * Email one-time codes and links: `POST /otp`, `POST /verify`, `GET /verify`, `POST /recover`,
 * `POST /resend`, the `pkce` grant of `/token`, sign-up confirmation mails, and anonymous sign-in.
 * Answers never depend on whether the address has an account; mail goes out after the answer.
 */
export function registerOtpRoutes(app: FastifyInstance, runtime: IdentityRuntime, deps: OtpDependencies): SignUpHooks {
  const { mail } = deps;
  const accountDefaults = { audience: runtime.settings.audience, role: runtime.settings.defaultRole };
  const otp = mail.settings;
  const verifyLimiter = new RateLimiter(otp.verifyPerFiveMinutes, Math.max(1, otp.verifyPerFiveMinutes));
  const anonymousLimiter = new RateLimiter(otp.anonymousPerHour / 12, Math.max(1, otp.anonymousPerHour));
  const address = (request: FastifyRequest) => clientAddress(request, runtime.settings);
  const takeEmailBudget = (request: FastifyRequest, email: string) => mail.takeBudget(request, email);

  /** Issues a token (and a PKCE flow), then mails the link and code after the answer. */
  async function mailToken(user: UserRow, type: SignInTokenType, pkce: PkceChallenge | null, redirectTo: string | undefined): Promise<void> {
    const email = user.email!;
    const issued = await runtime.db.transaction(async (tx) => {
      const flow = pkce ? await createFlowState(tx, user.id, pkce, TOKEN_METHOD[type]) : null;
      if (type === 'confirmation') await markConfirmationSent(tx, user.id);
      await runtime.audit.record(tx, { action: MAILED_ACTION[type], actor: userActor(user) });
      return issueOneTimeToken(tx, user.id, type, email, flow);
    });
    mail.send(composeMail(MAIL_KIND[type], email, mail.link(issued.hash, LINK_TYPE[type], redirectTo), issued.otp), MAIL_KIND[type]);
  }

  async function createPasswordlessUser(email: string, data: Record<string, unknown>): Promise<UserRow | null> {
    try {
      await insertPasswordlessUser(runtime.db, accountDefaults, email, data);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    return findUserByEmail(runtime.db, email);
  }

  function emailOf(body: Record<string, unknown>): string {
    if (optionalString(body, 'phone')) throw new IdentityError(422, 'phone_provider_disabled', Messages.phoneDisabled);
    const raw = optionalString(body, 'email');
    if (!raw) throw validationFailed('An email address or phone number is required to sign in');
    if (!runtime.settings.emailEnabled) throw new IdentityError(422, 'email_provider_disabled', Messages.emailLoginDisabled);
    return normaliseEmail(raw);
  }

  const redirectOf = (request: FastifyRequest, body: Record<string, unknown>): string | undefined => {
    const query = (request.query as { redirect_to?: unknown }).redirect_to;
    return typeof query === 'string' && query !== '' ? query : optionalString(body, 'redirect_to');
  };

  app.post('/otp', async (request) => {
    const body = bodyOf(request);
    if (optionalString(body, 'phone')) return phoneOtp(runtime, deps.phone, request);
    const email = emailOf(body);
    const pkce = pkceChallenge(body);
    const createUser = optionalBoolean(body, 'create_user') ?? true;
    const data = optionalObject(body, 'data') ?? {};
    let user = await findUserByEmail(runtime.db, email);
    // GoTrue answers this before any mail budget is taken.
    if (!user && !createUser) throw new IdentityError(422, 'otp_disabled', 'Signups not allowed for otp');
    takeEmailBudget(request, email);
    if (!user && createUser && !runtime.settings.disableSignup) user = await createPasswordlessUser(email, data);
    if (user && !isBanned(user)) await mailToken(user, user.email_confirmed_at ? 'magiclink' : 'confirmation', pkce, redirectOf(request, body));
    return {};
  });

  app.post('/recover', async (request) => {
    const body = bodyOf(request);
    const email = emailOf(body);
    const pkce = pkceChallenge(body);
    takeEmailBudget(request, email);
    const user = await findUserByEmail(runtime.db, email);
    if (user && !isBanned(user)) await mailToken(user, 'recovery', pkce, redirectOf(request, body));
    return {};
  });

  app.post('/resend', async (request) => {
    const body = bodyOf(request);
    const type = optionalString(body, 'type');
    if (type === 'sms' || type === 'phone_change') return phoneResend(runtime, deps.phone, request, type);
    if (type !== 'signup' && type !== 'email_change') throw validationFailed('Missing one of these types: signup, email_change, sms, phone_change');
    const email = emailOf(body);
    const pkce = pkceChallenge(body);
    takeEmailBudget(request, email);
    const user = await findUserByEmail(runtime.db, email);
    if (type === 'signup' && user && !user.email_confirmed_at && !isBanned(user)) await mailToken(user, 'confirmation', pkce, redirectOf(request, body));
    // The mails of a pending email change go again (new codes), to the addresses they went to.
    if (type === 'email_change' && user?.new_email && !isBanned(user)) await requestEmailChange(runtime, mail, { user, newEmail: user.new_email, redirectTo: redirectOf(request, body) });
    return {};
  });

  const afterSignUpUnconfirmed: SignUpHooks['afterSignUpUnconfirmed'] = async (request, userId, email) => {
    const body = bodyOf(request);
    const pkce = pkceChallenge(body);
    try {
      takeEmailBudget(request, email);
    } catch {
      return; // The account exists; the user can ask for the mail again (POST /resend) later.
    }
    const user = await findUserByEmail(runtime.db, email);
    if (user && user.id === userId) await mailToken(user, 'confirmation', pkce, redirectOf(request, body));
  };

  /**
   * What a used-up token does: an email change token counts one confirmation (`pending` until both
   * addresses confirmed); any other token confirms the address it was sent to.
   */
  async function applyToken(tx: Queryable, token: OneTimeTokenRow): Promise<'applied' | 'pending' | 'invalid'> {
    if (EMAIL_CHANGE_TOKENS.includes(token.token_type)) {
      const state = await confirmEmailChange(tx, token.user_id);
      return state === 'changed' ? 'applied' : state;
    }
    await confirmEmail(tx, token.user_id);
    return 'applied';
  }

  /**
   * The audit of a used-up token: a sign-up confirmation is recorded as `user_signedup` (no login, as
   * GoTrue), anything else as the `login` of the session it opens.
   */
  async function auditOfVerified(tx: Queryable, token: OneTimeTokenRow, ipAddress: string): Promise<{ audit?: { writer: typeof runtime.audit } }> {
    if (token.token_type !== 'confirmation') return { audit: { writer: runtime.audit } };
    const user = await findUserById(tx, token.user_id);
    if (user) await runtime.audit.record(tx, { action: 'user_signedup', actor: userActor(user), traits: { provider: 'email' }, ipAddress });
    return {};
  }

  function limitVerify(request: FastifyRequest): void {
    if (!verifyLimiter.take(address(request))) throw new IdentityError(429, 'over_request_rate_limit', Messages.rateLimited);
  }

  /**
   * Codes are short: attempts are limited per address too (whichever client sends them), and a code
   * or link counts against the address it was sent to. False when the address's budget is spent.
   */
  const takeAddressAttempt = (email: string) => verifyLimiter.take(`email:${email}`);

  /**
   * Uses up the token and opens a session (in one transaction); `pending` for the first of two email
   * change confirmations; `null` when the token is wrong or old.
   */
  async function verifyToken(
    request: FastifyRequest,
    consume: (tx: Queryable, types: readonly OneTimeTokenType[]) => Promise<OneTimeTokenRow | null>,
    type: string,
    method?: AuthenticationMethod,
  ): Promise<{ token: OneTimeTokenRow; prepared: PreparedSession } | 'pending' | null> {
    const types = VERIFY_TYPES[type];
    if (!types) throw validationFailed(`Verify requires a verification type`);
    return runtime.db.transaction(async (tx) => {
      const token = await consume(tx, types);
      if (!token) return null;
      if (token.flow_state_id) await deleteFlowState(tx, token.flow_state_id);
      const applied = await applyToken(tx, token);
      if (applied !== 'applied') return applied === 'pending' ? 'pending' : null;
      const agent = request.headers['user-agent'];
      const prepared = await startSession(tx, runtime.issuer, token.user_id, {
        method: method ?? TOKEN_METHOD[token.token_type],
        client: { ip: address(request), userAgent: typeof agent === 'string' ? agent : undefined },
        ...(await auditOfVerified(tx, token, address(request))),
      });
      return { token, prepared };
    });
  }

  app.post('/verify', async (request) => {
    limitVerify(request);
    const body = bodyOf(request);
    const type = optionalString(body, 'type') ?? '';
    if (type === 'sms' || type === 'phone_change') {
      const phone = phoneOf(deps.phone, body);
      if (!takeAddressAttempt(phone)) throw new IdentityError(429, 'over_request_rate_limit', Messages.rateLimited);
      const prepared = await verifyPhoneCode(runtime, deps.phone, request, type, phone, (optionalString(body, 'token') ?? '').trim());
      if (!prepared) throw new IdentityError(403, 'otp_expired', OTP_EXPIRED);
      return finishSession(runtime.issuer, prepared);
    }
    const hash = optionalString(body, 'token_hash');
    let consume: (tx: Queryable, types: readonly OneTimeTokenType[]) => Promise<OneTimeTokenRow | null>;
    let sentTo: string | null;
    if (hash) {
      sentTo = await linkAddress(runtime.db, hash);
      consume = (tx, types) => consumeOneTimeToken(tx, hash, types, otp.otpExpiry);
    } else {
      const code = (optionalString(body, 'token') ?? '').trim();
      const raw = optionalString(body, 'email');
      if (!raw) throw validationFailed('Only an email address or phone number should be provided on verify');
      const email = normaliseEmail(raw);
      sentTo = email;
      consume = (tx, types) => consumeOneTimeCode(tx, email, code, types, otp.otpExpiry);
    }
    if (sentTo !== null && !takeAddressAttempt(sentTo)) throw new IdentityError(429, 'over_request_rate_limit', Messages.rateLimited);
    const verified = await verifyToken(request, consume, type, type === 'email' ? 'otp' : type === 'invite' ? 'invite' : undefined);
    if (!verified) throw new IdentityError(403, 'otp_expired', OTP_EXPIRED);
    if (verified === 'pending') return { msg: SINGLE_CONFIRMATION, code: '200' };
    return finishSession(runtime.issuer, verified.prepared);
  });

  /** `GET /verify`: the emailed link. Redirects with the session in the fragment, or a PKCE `code` in the query. */
  app.get<{ Querystring: { token?: string; type?: string; redirect_to?: string } }>('/verify', async (request, reply: FastifyReply) => {
    const target = mail.redirect(request.query.redirect_to).split('#')[0]!;
    const fail = (code: string, description: string) =>
      reply.redirect(`${target}#${new URLSearchParams({ error: 'access_denied', error_code: code, error_description: description }).toString()}&sb=`, 303);
    if (!verifyLimiter.take(address(request))) return fail('over_request_rate_limit', Messages.rateLimited);
    const type = request.query.type ?? '';
    if (!VERIFY_TYPES[type]) return fail('validation_failed', 'Verify requires a verification type');
    const hash = request.query.token ?? '';
    const sentTo = await linkAddress(runtime.db, hash);
    if (sentTo !== null && !takeAddressAttempt(sentTo)) return fail('over_request_rate_limit', Messages.rateLimited);
    // A refusal inside (another account took the new address) goes to the redirect target too.
    const outcome = await runtime.db.transaction(async (tx) => {
      const token = await consumeOneTimeToken(tx, hash, VERIFY_TYPES[type]!, otp.otpExpiry);
      if (!token) return null;
      const applied = await applyToken(tx, token);
      if (applied !== 'applied') return applied === 'pending' ? ('pending' as const) : null;
      const audit = await auditOfVerified(tx, token, address(request));
      if (token.flow_state_id) return { code: await issueAuthCode(tx, token.flow_state_id), prepared: undefined };
      return { code: undefined, prepared: await startSession(tx, runtime.issuer, token.user_id, { method: type === 'invite' ? 'invite' : TOKEN_METHOD[token.token_type], client: { ip: address(request) }, ...audit }) };
    }).catch((error: unknown) => {
      if (error instanceof IdentityError) return error;
      throw error;
    });
    if (outcome instanceof IdentityError) return fail(outcome.code, outcome.message);
    if (!outcome) return fail('otp_expired', LINK_EXPIRED);
    if (outcome === 'pending') return reply.redirect(`${target}#${new URLSearchParams({ message: SINGLE_CONFIRMATION }).toString()}&sb=`, 303);
    if (outcome.code !== undefined) {
      const url = new URL(target);
      url.searchParams.set('code', outcome.code);
      return reply.redirect(url.toString(), 303);
    }
    const session: TokenResponse = await finishSession(runtime.issuer, outcome.prepared);
    const fragment = new URLSearchParams({
      access_token: session.access_token,
      expires_at: String(session.expires_at),
      expires_in: String(session.expires_in),
      refresh_token: session.refresh_token,
      token_type: 'bearer',
      type,
    });
    return reply.redirect(`${target}#${fragment.toString()}&sb=`, 303);
  });

  if (!otp.anonymousEnabled) return { afterSignUpUnconfirmed };
  return {
    afterSignUpUnconfirmed,
    anonymousSignIn: async (request) => {
      if (!anonymousLimiter.take(address(request))) throw new IdentityError(429, 'over_request_rate_limit', Messages.rateLimited);
      const data = optionalObject(bodyOf(request), 'data') ?? {};
      const id = randomUUID();
      const agent = request.headers['user-agent'];
      const prepared = await runtime.db.transaction(async (tx) => {
        await insertAnonymousUser(tx, accountDefaults, id, data);
        return startSession(tx, runtime.issuer, id, { method: 'anonymous', client: { ip: address(request), userAgent: typeof agent === 'string' ? agent : undefined } });
      });
      return finishSession(runtime.issuer, prepared);
    },
  };
}
