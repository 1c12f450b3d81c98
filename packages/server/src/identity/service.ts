import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext, MountedService } from '../http/context.js';
import { AuditLog, type AuditWriter } from './audit/audit-log.js';
import { registerAuditRoutes } from './audit/routes.js';
import { registerInviteRoutes } from './invite/routes.js';
import { loadAuditSettings } from './audit/settings.js';
import { pruneAuditLog } from './store/audit.js';
import { AccessTokenIssuer, type ClaimsHook } from './claims.js';
import { clientFacts } from './http/client-address.js';
import { corsPolicy } from './http/cors.js';
import { prepareScope } from './http/plugin.js';
import { LoginThrottle } from './login-throttle.js';
import { loadApiKeys, type ApiKeys } from './keys/api-keys.js';
import { KeyStore, rotateSigningKey, type RotationResult } from './keys/key-store.js';
import { PasswordHasher } from './passwords.js';
import { RateLimiter } from './rate-limit.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerPublicRoutes } from './routes/public.js';
import { registerSessionRoutes } from './routes/session-routes.js';
import { GrantService } from './grants/service.js';
import { registerTokenRoute } from './grants/token-route.js';
import { registerSessionListRoutes } from './session-list/routes.js';
import { registerUserRoutes } from './routes/user-routes.js';
import { loadUserUpdateSettings } from './routes/user-settings.js';
import { loadMailSettings, outboxMailer, smtpMailer, type Mailer } from '../mail/index.js';
import { loadSmsSettings, outboxSender, twilioSender } from '../sms/index.js';
import { PhoneCodes } from './phone/codes.js';
import { registerPasskeyRoutes } from './webauthn/passkey-routes.js';
import { loadWebAuthnSettings } from './webauthn/settings.js';
import { registerMfaRoutes } from './mfa/routes.js';
import { registerDisabledFeatures } from './otp/disabled.js';
import { registerOutboxRoutes } from './otp/outbox-routes.js';
import { CodeMailer } from './otp/code-mail.js';
import { registerOtpRoutes } from './otp/routes.js';
import { loadOtpSettings } from './otp/settings.js';
import { registerOAuthClientAdminRoutes } from './oauth/admin-routes.js';
import { registerOAuthTokenEndpoint } from './oauth/token-endpoint.js';
import { UpstreamProvider } from './external/providers.js';
import { registerExternalRoutes } from './external/routes.js';
import { loadExternalSettings } from './external/settings.js';
import type { IdentityRuntime } from './runtime.js';
import { startSessionExpiry } from './session-expiry.js';
import { registerRevocationFeedRoute } from '../revocation/feed-route.js';
import { issueSession, type ClientFacts, type StartSessionOptions } from './sessions.js';
import { requireActor, requireUser, type RequestActor, type UserAuthentication } from './http/authenticate.js';
import type { IdentitySettings } from './settings.js';
import type { TokenResponse } from './types.js';

/** Where the identity service is mounted. */
export const IDENTITY_PREFIX = '/auth/v1';

/**
 * The identity service's tokens as the services that verify them see them (gateway, example API): where
 * the keys are published and which `iss`, `aud`, HS256 secret and lifetime apply. Derived from the one
 * validated {@link IdentitySettings}, whether or not the identity service runs in this process.
 */
export interface IdentityTokens {
  /** Path prefix of the identity service, `/auth/v1`. */
  readonly prefix: string;
  /** Path of the JWKS on a server that runs the identity service, `/auth/v1/.well-known/jwks.json`. */
  readonly jwksPath: string;
  /** Absolute URL of the JWKS as clients reach it, e.g. `http://127.0.0.1:8000/auth/v1/.well-known/jwks.json`. */
  jwksUrl(): string;
  /** `iss` of access tokens: `LATCHKEY_JWT_ISSUER`, else the deployment's URL followed by `/auth/v1`. */
  issuer(): string;
  /** `aud` of user tokens (`LATCHKEY_JWT_AUD`). Default `authenticated`. */
  readonly audience: string;
  /** The legacy HS256 secret (`LATCHKEY_JWT_SECRET`, at least 32 bytes), or `null`. */
  readonly secret: string | null;
  /** Access token lifetime in seconds (`LATCHKEY_JWT_EXPIRY`). Default 3600. */
  readonly lifetime: number;
}

/**
 * The identity service's tokens for `settings`, served at `context.publicUrl()` and issued for the
 * deployment's URL (`context.clusterUrl()`): every node of one database issues and accepts the same `iss`.
 */
export function identityTokens(settings: IdentitySettings, context: Pick<AppContext, 'publicUrl' | 'clusterUrl'>): IdentityTokens {
  const jwksPath = `${IDENTITY_PREFIX}/.well-known/jwks.json`;
  const clusterUrl = context.clusterUrl ?? context.publicUrl;
  return {
    prefix: IDENTITY_PREFIX,
    jwksPath,
    jwksUrl: () => `${context.publicUrl()}${jwksPath}`,
    issuer: () => settings.issuer ?? `${clusterUrl()}${IDENTITY_PREFIX}`,
    audience: settings.audience,
    secret: settings.jwtSecret,
    lifetime: settings.jwtExpiry,
  };
}

/** What the identity service offers the services built after it. */
export interface IdentityExports {
  readonly settings: IdentitySettings;
  /** Issuer, audience, secret, lifetime and JWKS location of the tokens this service issues. */
  readonly tokens: IdentityTokens;
  readonly apiKeys: ApiKeys;
  /** Hashes and checks passwords for this service (and the admin operations of its process). */
  readonly passwords: PasswordHasher;
  /** Absolute URL of the JWKS, e.g. `http://127.0.0.1:8000/auth/v1/.well-known/jwks.json`. */
  jwksUrl(): string;
  /** `iss` of the access tokens. */
  issuer(): string;
  /** Registers a claims hook, run at every token issuance (refreshes included) after those registered before. */
  addClaimsHook(hook: ClaimsHook): void;
  /**
   * Opens a session for a user and returns the token response (access token through the claims hooks,
   * refresh token), in one transaction. Throws `IdentityError` `user_not_found` / `user_banned`.
   */
  issueSession(userId: string, options?: StartSessionOptions): Promise<TokenResponse>;
  /** Every grant of the token endpoints, for callers that are not HTTP requests (sign-in over the gateway's socket). */
  readonly grants: GrantService;
  /** Verifies a token signed by this service (or the legacy HS256 secret); throws `IdentityError` `bad_jwt`. */
  verifyToken(token: string): Promise<Record<string, unknown>>;
  /** Adds a new signing key (database-held keys only) and starts signing with it in this process. */
  rotateSigningKey(): Promise<RotationResult>;
  /** Re-reads the signing keys now (after a rotation made by another process). */
  reloadKeys(): Promise<void>;
  /** Authenticates the request's bearer as a user (GoTrue's rules and errors). */
  requireUser(request: FastifyRequest): Promise<UserAuthentication>;
  /**
   * The service role when the bearer opens the admin API (the service_role key, or a token with an
   * admin role whose session and role still hold), else the user as `requireUser` authenticates them;
   * the token is verified once.
   */
  requireActor(request: FastifyRequest): Promise<RequestActor>;
  /** Prepares a Fastify scope for routes under `/auth/v1`: JSON parsing, CORS and GoTrue-format errors. */
  prepareScope(scope: FastifyInstance): void;
  /** The client address (trusted-proxy rules applied) and user agent of a request, as sessions keep them. */
  clientFacts(request: FastifyRequest): ClientFacts;
  /** The mailer of the service: SMTP when configured, else the development outbox. */
  readonly mailer: Mailer;
  /**
   * The audit log (`auth.audit_log_entries`): services built on identity record their events with
   * `audit.record(tx, { action, actor, traits })` inside the transaction of the action.
   */
  readonly audit: AuditWriter;
}

/**
 * The identity service: Supabase Auth (GoTrue) compatible, mounted at `/auth/v1`, so
 * `createClient(BASE_URL, ANON_KEY)` from `@supabase/supabase-js` works against it unchanged. `settings`
 * are the validated identity settings (`loadIdentitySettings`), read once per process.
 */
export async function mountIdentity(app: FastifyInstance, context: AppContext, settings: IdentitySettings): Promise<MountedService<IdentityExports>> {
  const otpSettings = loadOtpSettings(context.env);
  const userUpdateSettings = loadUserUpdateSettings(context.env);
  const mailSettings = loadMailSettings(context.env);
  const auditSettings = loadAuditSettings(context.env);
  const audit = new AuditLog({ enabled: auditSettings.enabled });
  const smsSettings = loadSmsSettings(context.env);
  const webauthnSettings = loadWebAuthnSettings(context.env);
  const externalSettings = loadExternalSettings(context.env);
  const logger = context.logger.child({ service: 'identity' });
  const keys = await KeyStore.open(context.db, settings);
  const apiKeys = await loadApiKeys(context.db, keys, settings, logger);
  const baseUrl = () => `${context.publicUrl()}${IDENTITY_PREFIX}`;
  const tokens = identityTokens(settings, context);
  const jwtIssuer = tokens.issuer;
  const issuer = new AccessTokenIssuer(keys, settings, jwtIssuer, logger);
  const cors = corsPolicy(settings.corsAllowedOrigins, context.publicUrl, settings.siteUrl);
  const logins = new LoginThrottle(context.db, settings);
  const passwords = new PasswordHasher();
  if (settings.rateLimitHeader && settings.trustedProxies.entries.length === 0) {
    logger.warn({ header: settings.rateLimitHeader }, 'the client address header is ignored: LATCHKEY_TRUSTED_PROXIES lists no proxy');
  }
  const runtime: IdentityRuntime = {
    db: context.db,
    settings,
    keys,
    issuer,
    apiKeys,
    logger,
    revocations: context.revocations,
    audit,
    limits: {
      token: new RateLimiter(settings.rateLimitToken, settings.rateLimitBurst),
      refresh: new RateLimiter(settings.rateLimitToken, settings.rateLimitSessionBurst),
      signup: new RateLimiter(settings.rateLimitSignup, settings.rateLimitBurst),
    },
    logins,
    passwords,
    baseUrl,
    jwtIssuer,
  };
  const mailer = mailSettings.host ? smtpMailer({ ...mailSettings, host: mailSettings.host }) : outboxMailer(context.db);
  const codeMailer = new CodeMailer(runtime, mailer, otpSettings);
  const phoneCodes = new PhoneCodes(runtime, smsSettings.twilio ? twilioSender(smsSettings.twilio) : outboxSender(context.db), smsSettings);
  const grants = new GrantService(runtime, { phoneEnabled: smsSettings.phoneEnabled });
  const providers = new Map([...externalSettings.providers].map(([name, provider]) => [name, new UpstreamProvider(provider)]));

  await app.register(
    async (scope) => {
      prepareScope(scope, logger, cors);
      const signUpHooks = registerOtpRoutes(scope, runtime, { mail: codeMailer, phone: phoneCodes });
      registerPublicRoutes(scope, runtime, { sms: smsSettings, passkeysEnabled: webauthnSettings.passkeysEnabled, providers: [...providers.keys()], anonymousUsers: signUpHooks.anonymousSignIn !== undefined });
      registerSessionRoutes(scope, runtime, { phone: phoneCodes, signUp: signUpHooks });
      registerTokenRoute(scope, runtime, grants);
      registerUserRoutes(scope, runtime, { mail: codeMailer, settings: userUpdateSettings, phone: phoneCodes });
      registerAdminRoutes(scope, runtime, { passwordChangeEndsSessions: userUpdateSettings.passwordChangeEndsSessions });
      registerSessionListRoutes(scope, runtime);
      registerOAuthTokenEndpoint(scope, runtime, grants);
      registerMfaRoutes(scope, runtime, { webauthn: webauthnSettings });
      registerPasskeyRoutes(scope, runtime, webauthnSettings);
      registerOAuthClientAdminRoutes(scope, runtime);
      registerExternalRoutes(scope, runtime, { settings: externalSettings, providers, redirect: (requested) => codeMailer.redirect(requested) });
      registerOutboxRoutes(scope, runtime);
      registerAuditRoutes(scope, runtime);
      registerInviteRoutes(scope, runtime, { mail: codeMailer });
      registerDisabledFeatures(scope);
      registerRevocationFeedRoute(scope, { revocations: runtime.revocations, serviceRoleKey: () => apiKeys.serviceRoleKey });
    },
    { prefix: IDENTITY_PREFIX },
  );
  keys.startReloading(settings.keysReloadInterval);
  // A rotation on any node reaches every node at once through the broker; after a broker outage, re-read.
  const reloadKeys = () => void keys.reload().catch((error: unknown) => logger.warn({ reason: error instanceof Error ? error.message : String(error) }, 'signing key reload failed'));
  const stopFollowingKeys = context.cluster?.subscribe({ message: (message) => message.type === 'keys_changed' && reloadKeys(), reconnected: reloadKeys }) ?? (() => undefined);
  const stopSessionExpiry = startSessionExpiry(context.db, context.revocations, settings, logger);
  const sweeper = setInterval(() => {
    logins.sweep().catch((error: unknown) => logger.warn({ reason: error instanceof Error ? error.message : String(error) }, 'login failure sweep failed'));
    if (auditSettings.retentionSeconds > 0) {
      pruneAuditLog(context.db, new Date(Date.now() - auditSettings.retentionSeconds * 1000)).catch((error: unknown) =>
        logger.warn({ reason: error instanceof Error ? error.message : String(error) }, 'audit log pruning failed'),
      );
    }
  }, 600_000);
  sweeper.unref();
  // After start-up work is done: the hashing threads are ready before the first login arrives.
  setImmediate(() => passwords.prepare()).unref();

  const exports: IdentityExports = {
    settings,
    tokens,
    apiKeys,
    passwords,
    jwksUrl: tokens.jwksUrl,
    issuer: jwtIssuer,
    addClaimsHook: (hook) => {
      issuer.hooks.push(hook);
    },
    issueSession: (userId, options) => issueSession(context.db, issuer, userId, options),
    grants,
    verifyToken: async (token) => ({ ...(await keys.verify(token)) }),
    rotateSigningKey: async () => {
      if (keys.source !== 'database') throw new Error('signing keys come from LATCHKEY_JWT_KEYS; rotate them there');
      const result = await rotateSigningKey(context.db, settings);
      await keys.reload();
      await context.cluster?.publish({ type: 'keys_changed' });
      return result;
    },
    reloadKeys: () => keys.reload(),
    requireUser: (request) => requireUser(runtime, request),
    requireActor: (request) => requireActor(runtime, request),
    prepareScope: (scope) => prepareScope(scope, logger, cors),
    clientFacts: (request) => clientFacts(request, settings),
    mailer,
    audit,
  };

  return {
    exports,
    banner: (base) => [
      `identity  ${base}${IDENTITY_PREFIX}`,
      `jwks      ${base}${IDENTITY_PREFIX}/.well-known/jwks.json`,
      `anon key          ${apiKeys.anonKey}`,
      `service_role key  ${apiKeys.serviceRoleKey}`,
      `mail      ${mailer.kind === 'smtp' ? `SMTP ${mailSettings.host}:${mailSettings.port}` : 'development outbox (latchkey mail)'}`,
      ...(smsSettings.phoneEnabled ? [`sms       ${phoneCodes.senderKind === 'twilio' ? 'Twilio' : 'development outbox (latchkey sms)'}`] : []),
    ],
    async close() {
      stopSessionExpiry();
      stopFollowingKeys();
      keys.stopReloading();
      clearInterval(sweeper);
      mailer.close();
    },
  };
}

