import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExternalSettings } from '../../src/identity/external/settings.js';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { email, startIdentity, supabaseClient, type IdentityServer } from './support.js';
import { browse, fragmentOf, githubUpstream, type GithubUpstream, type GithubUser } from './upstream.js';

const APP = 'https://app.example.com';

let counter = 0;
function githubUser(emails: GithubUser['emails']): GithubUser {
  counter += 1;
  const id = Math.floor(Date.now() / 1000) * 100 + counter;
  return { id, login: `octo-${id}`, name: `Octo ${counter}`, emails };
}

describe('provider settings', () => {
  it('reads GoTrue\'s variables and OpenID Connect providers by issuer', () => {
    const settings = loadExternalSettings({
      GOTRUE_EXTERNAL_GITHUB_ENABLED: 'true',
      GOTRUE_EXTERNAL_GITHUB_CLIENT_ID: 'id',
      GOTRUE_EXTERNAL_GITHUB_SECRET: 'secret',
      GOTRUE_EXTERNAL_GITHUB_REDIRECT_URI: 'https://auth.example.com/auth/v1/callback',
      GOTRUE_EXTERNAL_KEYCLOAK_ENABLED: 'true',
      GOTRUE_EXTERNAL_KEYCLOAK_CLIENT_ID: 'kc',
      GOTRUE_EXTERNAL_KEYCLOAK_SECRET: 'kc-secret',
      GOTRUE_EXTERNAL_KEYCLOAK_URL: 'https://sso.example.com/realms/main/',
      GOTRUE_EXTERNAL_GOOGLE_ENABLED: 'false',
      LATCHKEY_EXTERNAL_ACME_ISSUER: 'https://id.acme.example',
      LATCHKEY_EXTERNAL_ACME_CLIENT_ID: 'acme',
      LATCHKEY_EXTERNAL_ACME_SECRET: 'acme-secret',
    });
    expect([...settings.providers.keys()]).toEqual(['github', 'keycloak', 'acme']);
    expect(settings.providers.get('github')).toMatchObject({ protocol: 'github', url: 'https://github.com', redirectUri: 'https://auth.example.com/auth/v1/callback' });
    expect(settings.providers.get('keycloak')).toMatchObject({ protocol: 'oidc', url: 'https://sso.example.com/realms/main' });
    expect(settings.providers.get('acme')).toMatchObject({ protocol: 'oidc', url: 'https://id.acme.example', redirectUri: null });
    expect(settings.manualLinking).toBe(false);
  });

  it('names the variable that is missing or wrong', () => {
    expect(() => loadExternalSettings({ GOTRUE_EXTERNAL_GITHUB_ENABLED: 'true', GOTRUE_EXTERNAL_GITHUB_SECRET: 's' })).toThrow(/GOTRUE_EXTERNAL_GITHUB_CLIENT_ID/);
    expect(() => loadExternalSettings({ GOTRUE_EXTERNAL_KEYCLOAK_ENABLED: 'true', GOTRUE_EXTERNAL_KEYCLOAK_CLIENT_ID: 'c', GOTRUE_EXTERNAL_KEYCLOAK_SECRET: 's' })).toThrow(/GOTRUE_EXTERNAL_KEYCLOAK_URL/);
    expect(() => loadExternalSettings({ LATCHKEY_EXTERNAL_ACME_ISSUER: 'http://id.acme.example', LATCHKEY_EXTERNAL_ACME_CLIENT_ID: 'c', LATCHKEY_EXTERNAL_ACME_SECRET: 's' })).toThrow(
      /LATCHKEY_EXTERNAL_ACME_ISSUER: must use https/,
    );
    expect(() => loadExternalSettings({ LATCHKEY_EXTERNAL_ACME_ISSUER: 'https://id.acme.example' })).toThrow(/LATCHKEY_EXTERNAL_ACME_CLIENT_ID/);
    expect(() => loadExternalSettings({ LATCHKEY_EXTERNAL_GOOGLE_ISSUER: 'https://accounts.google.com' })).toThrow(/built-in provider/);
  });
});

describeEachDatabase('sign-in with the built-in GitHub provider', (database) => {
  let github: GithubUpstream;
  let app: IdentityServer;

  beforeAll(async () => {
    github = await githubUpstream();
    app = await startIdentity(database(), {
      LATCHKEY_SITE_URL: APP,
      GOTRUE_EXTERNAL_GITHUB_ENABLED: 'true',
      GOTRUE_EXTERNAL_GITHUB_CLIENT_ID: github.clientId,
      GOTRUE_EXTERNAL_GITHUB_SECRET: github.secret,
      GOTRUE_EXTERNAL_GITHUB_URL: github.url,
    });
  });
  afterAll(async () => {
    await app?.close();
    await github?.close();
  });

  async function signIn(supabase: SupabaseClient, options: { scopes?: string; queryParams?: Record<string, string> } = {}): Promise<string> {
    const { data, error } = await supabase.auth.signInWithOAuth({ provider: 'github', options: { redirectTo: `${APP}/cb`, skipBrowserRedirect: true, ...options } });
    expect(error).toBeNull();
    return browse(data.url!, APP);
  }

  it('lists GitHub in /settings', async () => {
    const settings = (await (await fetch(`${app.auth}/settings`)).json()) as { external: Record<string, boolean> };
    expect(settings.external).toMatchObject({ github: true, google: false, email: true });
  });

  it('signs in with the PKCE flow: the primary verified address, GitHub identity data, provider token', async () => {
    const address = email('gh');
    const user = githubUser([
      { email: email('gh-secondary'), primary: false, verified: true },
      { email: address, primary: true, verified: true },
    ]);
    github.next = user;
    const supabase = supabaseClient(app.url, app.anonKey, 'pkce');
    const landed = await signIn(supabase, { scopes: 'repo read:org', queryParams: { allow_signup: 'false', state: 'ignored', redirect_uri: 'https://evil.example.net/' } });

    const request = github.requests.at(-1)!;
    expect(request.get('scope')!.split(' ')).toEqual(['user:email', 'repo', 'read:org']);
    expect(request.get('client_id')).toBe(github.clientId);
    expect(request.get('redirect_uri')).toBe(`${app.auth}/callback`);
    expect(request.get('code_challenge_method')).toBe('S256');
    expect(request.get('allow_signup')).toBe('false');
    expect(request.get('state')).not.toBe('ignored');

    const { data, error } = await supabase.auth.exchangeCodeForSession(new URL(landed).searchParams.get('code')!);
    expect(error).toBeNull();
    expect(data.user!.email).toBe(address);
    expect(data.user!.identities![0]).toMatchObject({
      provider: 'github',
      id: String(user.id),
      identity_data: { sub: String(user.id), provider_id: String(user.id), user_name: user.login, preferred_username: user.login, full_name: user.name, email: address, email_verified: true, iss: `${github.url}/api/v3` },
    });
    expect(data.session!.provider_token).toMatch(/^gho_/);
  });

  it('signs in with the implicit flow', async () => {
    const address = email('gh-implicit');
    github.next = githubUser([{ email: address, primary: true, verified: true }]);
    const landed = await signIn(supabaseClient(app.url, app.anonKey, 'implicit'));
    const fragment = fragmentOf(landed);
    expect(fragment.get('provider_token')).toMatch(/^gho_/);
    const { data } = await app.client().auth.getUser(fragment.get('access_token')!);
    expect(data.user!.email).toBe(address);
  });

  it('refuses an unverified primary address that belongs to an existing account, and links a verified one', async () => {
    const victim = email('gh-victim');
    await app.admin().auth.admin.createUser({ email: victim, password: 'correct-horse', email_confirm: true });
    github.next = githubUser([{ email: victim, primary: true, verified: false }]);
    const refused = new URL(await signIn(supabaseClient(app.url, app.anonKey, 'pkce')));
    expect(refused.searchParams.get('error')).toBe('access_denied');
    expect(refused.searchParams.get('error_code')).toBe('provider_email_needs_verification');
    expect(refused.searchParams.get('error_description')).toBe('Unverified email with github. Verify the email with github in order to sign in');

    // A verified secondary address of the same account matches it.
    const owner = email('gh-owner');
    const { data: created } = await app.admin().auth.admin.createUser({ email: owner, password: 'correct-horse', email_confirm: true });
    github.next = githubUser([
      { email: email('gh-unverified'), primary: true, verified: false },
      { email: owner, primary: false, verified: true },
    ]);
    const supabase = supabaseClient(app.url, app.anonKey, 'pkce');
    const landed = await signIn(supabase);
    const { data } = await supabase.auth.exchangeCodeForSession(new URL(landed).searchParams.get('code')!);
    expect(data.user!.id).toBe(created.user!.id);
    expect(data.user!.app_metadata.providers).toEqual(['email', 'github']);
  });

  it('answers a denied authorization with error=access_denied', async () => {
    github.next = 'deny';
    const landed = new URL(await signIn(supabaseClient(app.url, app.anonKey, 'pkce')));
    expect(landed.searchParams.get('error')).toBe('access_denied');
    expect(landed.searchParams.get('error_description')).toBe('The user has denied your application access.');
    expect(fragmentOf(landed.toString()).get('error')).toBe('access_denied');
  });

  it('refuses a new account while sign-ups are off, and still signs in an existing one', async () => {
    const closed = await startIdentity(database(), {
      LATCHKEY_SITE_URL: APP,
      GOTRUE_DISABLE_SIGNUP: 'true',
      GOTRUE_EXTERNAL_GITHUB_ENABLED: 'true',
      GOTRUE_EXTERNAL_GITHUB_CLIENT_ID: github.clientId,
      GOTRUE_EXTERNAL_GITHUB_SECRET: github.secret,
      GOTRUE_EXTERNAL_GITHUB_URL: github.url,
    });
    try {
      github.next = githubUser([{ email: email('gh-closed'), primary: true, verified: true }]);
      const { data } = await supabaseClient(closed.url, closed.anonKey, 'pkce').auth.signInWithOAuth({ provider: 'github', options: { redirectTo: APP, skipBrowserRedirect: true } });
      const refused = new URL(await browse(data.url!, APP));
      expect(refused.searchParams.get('error')).toBe('access_denied');
      expect(refused.searchParams.get('error_code')).toBe('signup_disabled');

      const existing = email('gh-closed-existing');
      await closed.admin().auth.admin.createUser({ email: existing, password: 'correct-horse', email_confirm: true });
      github.next = githubUser([{ email: existing, primary: true, verified: true }]);
      const supabase = supabaseClient(closed.url, closed.anonKey, 'pkce');
      const { data: again } = await supabase.auth.signInWithOAuth({ provider: 'github', options: { redirectTo: APP, skipBrowserRedirect: true } });
      const landed = new URL(await browse(again.url!, APP));
      const { data: session } = await supabase.auth.exchangeCodeForSession(landed.searchParams.get('code')!);
      expect(session.user!.email).toBe(existing);
    } finally {
      await closed.close();
    }
  });

  it('refuses linking while manual linking is off, as GoTrue does by default', async () => {
    const address = email('gh-link');
    const supabase = app.client();
    await supabase.auth.signUp({ email: address, password: 'correct-horse' });
    const { error } = await supabase.auth.linkIdentity({ provider: 'github', options: { skipBrowserRedirect: true } });
    expect(error?.code).toBe('manual_linking_disabled');
    expect(error?.status).toBe(404);
  });
});
