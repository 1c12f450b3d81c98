import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Queryable } from '../../db/index.js';
import { adminActor, userActor, type AuditActor } from '../audit/index.js';
import { IdentityError, Messages, validationFailed } from '../errors.js';
import { requireAdmin } from '../http/authenticate.js';
import { bodyOf, clientAddress, normaliseEmail, optionalObject, optionalString } from '../http/request.js';
import type { CodeMailer } from '../otp/code-mail.js';
import { composeMail } from '../otp/messages.js';
import { issueOneTimeToken, type OneTimeTokenType } from '../otp/tokens.js';
import { checkNewPassword } from '../passwords.js';
import { mergeMetadata } from '../routes/user-routes.js';
import type { IdentityRuntime } from '../runtime.js';
import { isUniqueViolation, userJson, type UserRow } from '../users.js';
import * as users from '../store/users.js';

/** What the invitation routes need besides the runtime. */
export interface InviteDependencies {
  readonly mail: CodeMailer;
}

/** The link types of `POST /admin/generate_link`. */
const LINK_TYPES = ['signup', 'invite', 'magiclink', 'recovery', 'email_change_current', 'email_change_new'] as const;
type LinkType = (typeof LINK_TYPES)[number];

/** The token each link type issues, and the `type` its `/verify` link carries. */
const LINK_TOKENS: Record<LinkType, { readonly token: OneTimeTokenType; readonly verifyType: string }> = {
  signup: { token: 'confirmation', verifyType: 'signup' },
  invite: { token: 'confirmation', verifyType: 'invite' },
  magiclink: { token: 'magiclink', verifyType: 'magiclink' },
  recovery: { token: 'recovery', verifyType: 'recovery' },
  email_change_current: { token: 'email_change_current', verifyType: 'email_change' },
  email_change_new: { token: 'email_change_new', verifyType: 'email_change' },
};

function isLinkType(value: string): value is LinkType {
  return (LINK_TYPES as readonly string[]).includes(value);
}

/** `redirect_to` of the request: the query's (supabase-js `redirectTo`), else the body's. */
function requestedRedirect(request: FastifyRequest, body: Record<string, unknown>): string | undefined {
  const query = (request.query as { redirect_to?: unknown } | undefined)?.redirect_to;
  return typeof query === 'string' && query !== '' ? query : optionalString(body, 'redirect_to');
}

/** `email` of an admin body, validated as GoTrue validates it (400 "An email address is required"). */
function emailOf(body: Record<string, unknown>): string {
  const raw = optionalString(body, 'email');
  if (!raw) throw validationFailed('An email address is required');
  return normaliseEmail(raw);
}

/**
 * `POST /invite` (supabase-js `auth.admin.inviteUserByEmail`) and `POST /admin/generate_link`
 * (`auth.admin.generateLink`), for admins, with GoTrue's rules: an invitation creates an unconfirmed
 * account without a password (an address whose account is confirmed: 422 `email_exists`) and mails a
 * link of type `invite`; following it (or `verifyOtp({type: 'invite'})`) confirms the address and opens
 * a session, after which the user sets a password. `generate_link` issues the same tokens as the mails
 * would carry and answers them instead of mailing: the user's fields with `action_link`, `email_otp`,
 * `hashed_token`, `verification_type` and `redirect_to`.
 */
export function registerInviteRoutes(app: FastifyInstance, runtime: IdentityRuntime, deps: InviteDependencies): void {
  const { mail } = deps;
  const accountDefaults = { audience: runtime.settings.audience, role: runtime.settings.defaultRole };

  /** Creates (or reuses, when unconfirmed) the invited account, records `user_invited` and issues the token; in `tx`. */
  async function invite(tx: Queryable, actor: AuditActor, email: string, data: Record<string, unknown>, ip: string): Promise<{ user: UserRow; otp: string; hash: string }> {
    const found = await users.lockUserByEmail(tx, email);
    if (found?.email_confirmed_at) throw new IdentityError(422, 'email_exists', Messages.emailExists);
    const id = found?.id ?? (await users.insertEmailAccount(tx, accountDefaults, { email, metadata: data, passwordHash: null }));
    await users.markInvited(tx, id);
    await runtime.audit.record(tx, { action: 'user_invited', actor, traits: { user_id: id, user_email: email }, ipAddress: ip });
    const issued = await issueOneTimeToken(tx, id, 'confirmation', email, null);
    return { user: (await users.findUserById(tx, id))!, ...issued };
  }

  app.register(async (admin) => {
    const actors = new WeakMap<FastifyRequest, AuditActor>();
    admin.addHook('preHandler', async (request) => {
      actors.set(request, adminActor((await requireAdmin(runtime, request)).role));
    });
    const actorOf = (request: FastifyRequest) => actors.get(request) ?? adminActor();
    const ipOf = (request: FastifyRequest) => clientAddress(request, runtime.settings);

    admin.post('/invite', async (request) => {
      const body = bodyOf(request);
      const email = emailOf(body);
      const data = optionalObject(body, 'data') ?? {};
      const redirectTo = requestedRedirect(request, body);
      const invited = await runtime.db
        .transaction((tx) => invite(tx, actorOf(request), email, data, ipOf(request)))
        .catch((error: unknown) => {
          if (isUniqueViolation(error)) throw new IdentityError(422, 'email_exists', Messages.emailExists);
          throw error;
        });
      mail.send(composeMail('invite', email, mail.link(invited.hash, 'invite', redirectTo), invited.otp), 'invite');
      return userJson(invited.user);
    });

    admin.post('/admin/generate_link', async (request) => {
      const body = bodyOf(request);
      const email = emailOf(body);
      const requestedType = optionalString(body, 'type') ?? '';
      if (!isLinkType(requestedType)) throw validationFailed(`Invalid email action link type requested: ${requestedType}`);
      const data = optionalObject(body, 'data') ?? {};
      const password = optionalString(body, 'password');
      const requested = requestedRedirect(request, body);
      const ip = ipOf(request);

      let type: LinkType = requestedType;
      const user = await users.findUserByEmail(runtime.db, email);
      // An unknown address: a magic link signs the new account up; the other links need an account.
      if (!user && type === 'magiclink') type = 'signup';
      if (!user && (type === 'recovery' || type === 'email_change_current' || type === 'email_change_new')) {
        throw new IdentityError(404, 'user_not_found', 'User with this email not found');
      }
      let newEmail: string | undefined;
      if (type === 'email_change_current' || type === 'email_change_new') {
        if (type === 'email_change_current' && !mail.settings.secureEmailChange) throw validationFailed('Enable secure email change to generate link for current email');
        const raw = optionalString(body, 'new_email');
        if (!raw) throw validationFailed('An email address is required');
        newEmail = normaliseEmail(raw);
      }
      // A signup link for a new account needs its password (a magic link's new account has none).
      let passwordHash: string | null = null;
      if (type === 'signup' && !user && requestedType === 'signup') {
        if (!password) throw validationFailed('Signup requires a valid password');
        checkNewPassword(password, runtime.settings.passwordMinLength);
        passwordHash = await runtime.passwords.hash(password);
      }

      const issued = await runtime.db
        .transaction(async (tx) => {
          switch (type) {
            case 'invite':
              return invite(tx, actorOf(request), email, data, ip);
            case 'signup': {
              if (user?.email_confirmed_at) throw new IdentityError(422, 'email_exists', Messages.emailExists);
              let id: string;
              if (user) {
                id = user.id;
                await users.setUserMetadata(tx, id, mergeMetadata(user.raw_user_meta_data, data));
              } else {
                id = await users.insertEmailAccount(tx, accountDefaults, { email, metadata: data, passwordHash });
              }
              await users.markConfirmationSent(tx, id);
              const token = await issueOneTimeToken(tx, id, 'confirmation', email, null);
              return { user: (await users.findUserById(tx, id))!, ...token };
            }
            case 'magiclink':
            case 'recovery': {
              const current = user!;
              await runtime.audit.record(tx, { action: 'user_recovery_requested', actor: userActor(current), ipAddress: ip });
              const token = await issueOneTimeToken(tx, current.id, LINK_TOKENS[type].token, email, null);
              return { user: current, ...token };
            }
            case 'email_change_current':
            case 'email_change_new': {
              const current = user!;
              if (await users.emailTaken(tx, newEmail!, current.id)) throw new IdentityError(422, 'email_exists', Messages.emailExists);
              // The new address's token is sent to (and checked against) the new address.
              const address = type === 'email_change_new' ? newEmail! : email;
              const token = await issueOneTimeToken(tx, current.id, LINK_TOKENS[type].token, address, null);
              await users.changeEmail(tx, current.id, newEmail!, false);
              return { user: (await users.findUserById(tx, current.id))!, ...token };
            }
          }
        })
        .catch((error: unknown) => {
          if (isUniqueViolation(error)) throw new IdentityError(422, 'email_exists', Messages.emailExists);
          throw error;
        });
      return {
        ...userJson(issued.user),
        action_link: mail.link(issued.hash, LINK_TOKENS[type].verifyType, requested),
        email_otp: issued.otp,
        hashed_token: issued.hash,
        verification_type: type,
        redirect_to: mail.redirect(requested),
      };
    });
  });
}
