import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IdentityError, OAuthError, validationFailed } from '../errors.js';
import { requireUser } from '../http/authenticate.js';
import { clientFacts } from '../http/client-address.js';
import { isUuid } from '../users.js';
import { findUserById, lockUser, syncProviders } from '../store/users.js';
import { countIdentities, deleteIdentity } from '../store/identities.js';
import { issueAuthCode, pkceChallenge } from '../otp/flow-state.js';
import type { IdentityRuntime } from '../runtime.js';
import { finishSession, startSession } from '../sessions.js';
import type { Queryable } from '../../db/index.js';
import { userActor } from '../audit/audit-log.js';
import { promoteEmailAfterUnlink, resolveAccount, type ResolvedAccount } from './accounts.js';
import { claimExternalFlow, createExternalFlow, type ClaimedFlow } from './flows.js';
import { attachFlowUser, deleteFlowState } from '../store/flow-state.js';
import type { UpstreamProvider } from './providers.js';
import { codeRedirect, errorRedirect, sessionRedirect } from './redirects.js';
import { BUILT_IN_PROVIDERS, type ExternalSettings } from './settings.js';

/** What the provider routes need besides the runtime. */
export interface ExternalRouteDependencies {
  readonly settings: ExternalSettings;
  /** The enabled providers, by name. */
  readonly providers: ReadonlyMap<string, UpstreamProvider>;
  /** The allowed target for a requested `redirect_to` (site URL and allow list, as for emailed links). */
  redirect(requested: string | undefined): string;
}

/** Query parameters `/authorize` reads itself; the others go on to the provider. */
const OWN_PARAMETERS = new Set(['provider', 'scopes', 'redirect_to', 'code_challenge', 'code_challenge_method', 'skip_http_redirect', 'flow_type']);
/** Parameters of the authorization request the server alone sets. */
const RESERVED_PARAMETERS = new Set([
  'client_id',
  'client_secret',
  'redirect_uri',
  'response_type',
  'state',
  'scope',
  'nonce',
  'code_verifier',
  'request',
  'request_uri',
]);
const PASS_THROUGH_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const FORM = 'application/x-www-form-urlencoded';

function queryOf(request: FastifyRequest): URLSearchParams {
  const raw = request.raw.url ?? '';
  const mark = raw.indexOf('?');
  return new URLSearchParams(mark === -1 ? '' : raw.slice(mark + 1));
}

/** Extra parameters for the provider (`prompt`, `access_type`, `login_hint`, …); reserved ones are dropped. */
function passThrough(query: URLSearchParams): Record<string, string> {
  const extra: Record<string, string> = {};
  for (const [name, value] of query) {
    const lower = name.toLowerCase();
    if (OWN_PARAMETERS.has(lower) || RESERVED_PARAMETERS.has(lower) || !PASS_THROUGH_NAME.test(name) || value.length > 2048) continue;
    if (Object.keys(extra).length >= 20) break;
    extra[name] = value;
  }
  return extra;
}

function unsupported(name: string, known: boolean): IdentityError {
  return validationFailed(known ? 'Unsupported provider: provider is not enabled' : `Unsupported provider: Provider ${name} could not be found`);
}

/**
 * Sign-in with upstream OAuth 2.0 / OpenID Connect providers, as GoTrue serves it:
 *  - `GET /authorize?provider=…&redirect_to=…[&scopes=…][&code_challenge=…&code_challenge_method=s256]`
 *    stores a flow and sends the browser to the provider (`state`, `nonce`, PKCE toward it);
 *  - `GET|POST /callback` (POST for `form_post` providers) claims the flow once, trades the provider's
 *    code, matches or creates the account, and sends the browser to `redirect_to` with the session in
 *    the fragment (implicit flow) or `?code=` for `POST /token?grant_type=pkce` (PKCE flow); refusals
 *    go there as `error`, `error_code`, `error_description`;
 *  - `GET /user/identities/authorize` (`linkIdentity`) and `DELETE /user/identities/{id}`
 *    (`unlinkIdentity`), when manual linking is enabled.
 */
export function registerExternalRoutes(app: FastifyInstance, runtime: IdentityRuntime, deps: ExternalRouteDependencies): void {
  const callbackUrl = (provider: UpstreamProvider) => provider.settings.redirectUri ?? `${runtime.baseUrl()}/callback`;

  function providerNamed(name: string): UpstreamProvider {
    const provider = deps.providers.get(name.toLowerCase());
    if (!provider) throw unsupported(name, BUILT_IN_PROVIDERS.includes(name.toLowerCase()));
    return provider;
  }

  /** Stores the flow and returns the provider's authorization URL. */
  async function startFlow(query: URLSearchParams, linkingTargetId: string | null): Promise<string> {
    const provider = providerNamed(query.get('provider') ?? '');
    const pkce = pkceChallenge({ code_challenge: query.get('code_challenge') ?? undefined, code_challenge_method: query.get('code_challenge_method') ?? undefined });
    const scopes = (query.get('scopes') ?? '').split(/[\s,]+/).filter((scope) => scope !== '');
    const redirectTo = deps.redirect(query.get('redirect_to') ?? undefined);
    const secrets = await createExternalFlow(runtime.db, { provider: provider.settings.name, redirectTo, linkingTargetId, pkce });
    try {
      const url = await provider.authorizationUrl({ ...secrets, redirectUri: callbackUrl(provider), scopes, extra: passThrough(query) });
      return url.toString();
    } catch (error) {
      runtime.logger.warn({ provider: provider.settings.name, reason: error instanceof Error ? error.message : String(error) }, 'provider discovery failed');
      throw new IdentityError(500, 'unexpected_failure', `Unable to reach provider ${provider.settings.name}`);
    }
  }

  app.get('/authorize', async (request, reply) => reply.redirect(await startFlow(queryOf(request), null), 302));

  /** Audit entries of a resolved account: `user_signedup` for a new one, `identity_linked` for a new identity. */
  async function recordAccount(tx: Queryable, account: ResolvedAccount, provider: string, providerId: string, ipAddress: string | undefined): Promise<void> {
    if (account.outcome === 'known') return;
    const user = await findUserById(tx, account.userId);
    if (!user) return;
    const action = account.outcome === 'created' ? 'user_signedup' : 'identity_linked';
    const traits = account.outcome === 'created' ? { provider } : { identity_id: account.identityId, provider, provider_id: providerId };
    await runtime.audit.record(tx, { action, actor: userActor(user), traits, ipAddress });
  }

  /** Runs the callback after its flow was claimed; any refusal is thrown. */
  async function finishCallback(request: FastifyRequest, params: URLSearchParams, flow: ClaimedFlow): Promise<string> {
    const provider = deps.providers.get(flow.provider);
    if (!provider) throw new IdentityError(400, 'oauth_provider_not_supported', `Unsupported provider: provider ${flow.provider} is not enabled`);
    const denied = params.get('error');
    if (denied) throw new OAuthError(denied, params.get('error_description') ?? '');
    if (!params.get('code')) throw new IdentityError(400, 'bad_oauth_callback', 'OAuth callback with missing authorization code missing');
    let profile;
    try {
      profile = await provider.complete(params, { ...flow, redirectUri: callbackUrl(provider) });
    } catch (error) {
      runtime.logger.warn({ provider: flow.provider, reason: error instanceof Error ? error.message : String(error) }, 'provider callback refused');
      throw new IdentityError(500, 'unexpected_failure', 'Unable to exchange external code');
    }
    if (!profile.subject) throw new IdentityError(500, 'unexpected_failure', 'Error getting user profile from external provider');
    const client = clientFacts(request, runtime.settings);
    const outcome = await runtime.db.transaction(async (tx) => {
      const account = await resolveAccount(tx, runtime.settings, flow.provider, profile, flow.linkingTargetId);
      await recordAccount(tx, account, flow.provider, profile.subject, client.ip);
      if (flow.pkce) {
        await attachFlowUser(tx, flow.id, account.userId, profile.accessToken, profile.refreshToken ?? null);
        return { code: await issueAuthCode(tx, flow.id) };
      }
      await deleteFlowState(tx, flow.id);
      const audit = { writer: runtime.audit, traits: { provider: flow.provider } };
      return { prepared: await startSession(tx, runtime.issuer, account.userId, { method: 'oauth', client, audit }) };
    });
    if ('code' in outcome) return codeRedirect(flow.redirectTo, outcome.code);
    return sessionRedirect(flow.redirectTo, await finishSession(runtime.issuer, outcome.prepared), profile.accessToken, profile.refreshToken);
  }

  async function callback(request: FastifyRequest, reply: FastifyReply, params: URLSearchParams): Promise<FastifyReply> {
    const siteUrl = deps.redirect(undefined);
    const state = params.get('state');
    if (!state) return reply.redirect(errorRedirect(siteUrl, new IdentityError(400, 'bad_oauth_callback', 'OAuth state parameter missing'), true), 303);
    let flow: ClaimedFlow;
    try {
      flow = await claimExternalFlow(runtime.db, state);
    } catch (error) {
      if (error instanceof IdentityError) return reply.redirect(errorRedirect(siteUrl, error, true), 303);
      throw error;
    }
    try {
      return reply.redirect(await finishCallback(request, params, flow), 302);
    } catch (error) {
      await deleteFlowState(runtime.db, flow.id).catch(() => undefined);
      if (error instanceof IdentityError || error instanceof OAuthError) {
        if (error instanceof IdentityError && error.status >= 500) runtime.logger.warn({ provider: flow.provider, code: error.code }, 'provider sign-in failed');
        return reply.redirect(errorRedirect(flow.redirectTo, error), 302);
      }
      const { message, code } = error as { message?: string; code?: string };
      runtime.logger.error({ error: { message, code }, provider: flow.provider }, 'provider sign-in failed');
      return reply.redirect(errorRedirect(flow.redirectTo, new IdentityError(500, 'unexpected_failure', 'Unexpected failure, please check server logs for more information')), 302);
    }
  }

  app.register(async (scope) => {
    scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, body));
    scope.get('/callback', async (request, reply) => callback(request, reply, queryOf(request)));
    scope.post('/callback', async (request, reply) => callback(request, reply, new URLSearchParams(typeof request.body === 'string' ? request.body : '')));
  });

  function requireLinking(): void {
    if (!deps.settings.manualLinking) throw new IdentityError(404, 'manual_linking_disabled', 'Manual linking is disabled');
  }

  app.get('/user/identities/authorize', async (request, reply) => {
    requireLinking();
    const { user } = await requireUser(runtime, request);
    const query = queryOf(request);
    const url = await startFlow(query, user.id);
    if (query.get('skip_http_redirect') === 'true') return { url };
    return reply.redirect(url, 302);
  });

  app.delete<{ Params: { id: string } }>('/user/identities/:id', async (request) => {
    requireLinking();
    const { user } = await requireUser(runtime, request);
    if (!isUuid(request.params.id)) throw new IdentityError(404, 'validation_failed', 'identity_id must be an UUID');
    const identities = user.identities ?? [];
    if (identities.length <= 1) throw new IdentityError(422, 'single_identity_not_deletable', 'User must have at least 1 identity after unlinking');
    const identity = identities.find((candidate) => candidate.id === request.params.id.toLowerCase());
    if (!identity) throw new IdentityError(422, 'identity_not_found', "Identity doesn't exist");
    await runtime.db.transaction(async (tx) => {
      // The user row is locked so two unlinks at once cannot leave the account without an identity.
      await lockUser(tx, user.id);
      if ((await countIdentities(tx, user.id)) <= 1) throw new IdentityError(422, 'single_identity_not_deletable', 'User must have at least 1 identity after unlinking');
      await deleteIdentity(tx, user.id, identity.id);
      const traits = { identity_id: identity.id, provider: identity.provider, provider_id: identity.provider_id };
      await runtime.audit.record(tx, { action: 'identity_unlinked', actor: userActor(user), traits, ipAddress: clientFacts(request, runtime.settings).ip });
      await promoteEmailAfterUnlink(tx, user.id, runtime.settings.mailerAutoconfirm);
      await syncProviders(tx, user.id, identity.provider);
    });
    return {};
  });
}
