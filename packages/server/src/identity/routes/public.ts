import type { FastifyInstance } from 'fastify';
import { OAUTH_CLIENT_AUTH_METHODS, OAUTH_GRANT_TYPES, OAUTH_TOKEN_PATH } from '../oauth/token-endpoint.js';
import type { IdentityRuntime } from '../runtime.js';
import type { SmsSettings } from '../../sms/index.js';

/** Version reported by `GET /auth/v1/health`. */
export const IDENTITY_VERSION = '0.1.0';

/**
 * `/health`, `/settings`, the JWKS and the OpenID configuration: no authentication. `providers` are the
 * enabled upstream sign-in providers, listed as `true` under `external` (OpenID Connect providers added
 * by name too); `sms` says whether phone sign-in is on.
 */
export function registerPublicRoutes(app: FastifyInstance, runtime: IdentityRuntime, deps: { readonly sms: SmsSettings; readonly passkeysEnabled: boolean; readonly providers?: readonly string[]; readonly anonymousUsers: boolean }): void {
  const providers = deps.providers ?? [];
  app.get('/health', async () => ({
    version: IDENTITY_VERSION,
    name: 'GoTrue',
    description: 'Latchkey identity service, compatible with GoTrue (Supabase Auth)',
  }));

  app.get('/settings', async () => {
    const { settings } = runtime;
    return {
      external: {
        anonymous_users: deps.anonymousUsers,
        email: settings.emailEnabled,
        phone: deps.sms.phoneEnabled,
        apple: false,
        azure: false,
        bitbucket: false,
        discord: false,
        facebook: false,
        figma: false,
        fly: false,
        github: false,
        gitlab: false,
        google: false,
        keycloak: false,
        kakao: false,
        linkedin: false,
        linkedin_oidc: false,
        notion: false,
        spotify: false,
        slack: false,
        slack_oidc: false,
        workos: false,
        twitch: false,
        twitter: false,
        zoom: false,
        ...Object.fromEntries(providers.map((name) => [name, true])),
      },
      disable_signup: settings.disableSignup,
      mailer_autoconfirm: settings.mailerAutoconfirm,
      phone_autoconfirm: deps.sms.autoconfirm,
      sms_provider: deps.sms.provider === 'twilio' ? 'twilio' : '',
      saml_enabled: false,
      passkeys_enabled: deps.passkeysEnabled,
      mfa_enabled: true,
    };
  });

  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=600');
    reply.type('application/json');
    return runtime.keys.jwksJson();
  });

  app.get('/.well-known/openid-configuration', async (_request, reply) => {
    const base = runtime.baseUrl();
    const algorithms = [runtime.keys.signingKey.alg];
    reply.header('cache-control', 'public, max-age=600');
    return {
      issuer: runtime.jwtIssuer(),
      jwks_uri: `${base}/.well-known/jwks.json`,
      token_endpoint: `${base}${OAUTH_TOKEN_PATH}`,
      userinfo_endpoint: `${base}/user`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: algorithms,
      grant_types_supported: [...OAUTH_GRANT_TYPES],
      token_endpoint_auth_methods_supported: [...OAUTH_CLIENT_AUTH_METHODS],
    };
  });
}
