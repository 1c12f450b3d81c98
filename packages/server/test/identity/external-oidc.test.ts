import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { claimsOf, email, startIdentity, supabaseClient, type IdentityServer } from './support.js';
import { browse, fragmentOf, oidcUpstream, type OidcUpstream } from './upstream.js';

const APP = 'https://app.example.com';

function client(app: IdentityServer, flowType: 'pkce' | 'implicit'): SupabaseClient {
  return supabaseClient(app.url, app.anonKey, flowType);
}

let counter = 0;
/** A fresh account at the provider. */
function account(upstream: OidcUpstream, claims: { email?: string; email_verified?: boolean; name?: string }): string {
  counter += 1;
  const sub = `acct-${Date.now().toString(36)}-${counter}`;
  upstream.accounts.set(sub, claims);
  return sub;
}

describeEachDatabase('sign-in with an OpenID Connect provider', (database) => {
  let upstream: OidcUpstream;
  let app: IdentityServer;

  beforeAll(async () => {
    upstream = await oidcUpstream();
    app = await startIdentity(database(), {
      LATCHKEY_SITE_URL: APP,
      LATCHKEY_EXTERNAL_ACME_ISSUER: upstream.issuer,
      LATCHKEY_EXTERNAL_ACME_CLIENT_ID: upstream.clientId,
      LATCHKEY_EXTERNAL_ACME_SECRET: upstream.secret,
      LATCHKEY_SECURITY_MANUAL_LINKING_ENABLED: 'true',
      LATCHKEY_EXTERNAL_ANONYMOUS_USERS_ENABLED: 'true',
      // The built-in Keycloak provider, pointed at the same OpenID provider as its realm.
      GOTRUE_EXTERNAL_KEYCLOAK_ENABLED: 'true',
      GOTRUE_EXTERNAL_KEYCLOAK_CLIENT_ID: upstream.clientId,
      GOTRUE_EXTERNAL_KEYCLOAK_SECRET: upstream.secret,
      GOTRUE_EXTERNAL_KEYCLOAK_URL: upstream.issuer,
      // The same provider, with a secret it does not know.
      LATCHKEY_EXTERNAL_WRONG_ISSUER: upstream.issuer,
      LATCHKEY_EXTERNAL_WRONG_CLIENT_ID: upstream.clientId,
      LATCHKEY_EXTERNAL_WRONG_SECRET: 'not-the-secret',
    });
    await upstream.start(`${app.auth}/callback`);
  });
  afterAll(async () => {
    await app?.close();
    await upstream?.close();
  });

  /** The actions of a user's audit entries, oldest first. */
  async function auditOf(userId: string): Promise<{ action: string; traits?: Record<string, unknown> }[]> {
    const response = await fetch(`${app.auth}/admin/audit?user_id=${userId}&per_page=1000`, { headers: { authorization: `Bearer ${app.serviceRoleKey}`, apikey: app.serviceRoleKey } });
    expect(response.status).toBe(200);
    const entries = (await response.json()) as { payload: { action: string; traits?: Record<string, unknown> } }[];
    return entries.map((entry) => ({ action: entry.payload.action, ...(entry.payload.traits ? { traits: entry.payload.traits } : {}) })).reverse();
  }

  /** signInWithOAuth in Node: the URL is followed by the test's browser until it reaches the app. */
  async function signIn(supabase: SupabaseClient, redirectTo = `${APP}/welcome`): Promise<string> {
    const { data, error } = await supabase.auth.signInWithOAuth({ provider: 'acme' as never, options: { redirectTo, skipBrowserRedirect: true } });
    expect(error).toBeNull();
    return browse(data.url!, APP);
  }

  it('lists the provider in /settings', async () => {
    const settings = (await (await fetch(`${app.auth}/settings`)).json()) as { external: Record<string, boolean> };
    expect(settings.external.acme).toBe(true);
    expect(settings.external.github).toBe(false);
  });

  it('signs a new user in with the PKCE flow through signInWithOAuth and exchangeCodeForSession', async () => {
    const address = email('oidc');
    const sub = account(upstream, { email: address, email_verified: true, name: 'Ada Lovelace' });
    upstream.next = { login: sub };
    const supabase = client(app, 'pkce');
    const landed = await signIn(supabase);
    expect(landed.startsWith(`${APP}/welcome?code=`)).toBe(true);
    const code = new URL(landed).searchParams.get('code')!;
    const { data, error } = await supabase.auth.exchangeCodeForSession(code);
    expect(error).toBeNull();
    const { session, user } = data;
    expect(user!.email).toBe(address);
    expect(user!.app_metadata).toMatchObject({ provider: 'acme', providers: ['acme'] });
    expect(user!.user_metadata).toMatchObject({ email: address, email_verified: true, name: 'Ada Lovelace', full_name: 'Ada Lovelace', sub, iss: upstream.issuer });
    expect(user!.identities).toHaveLength(1);
    expect(user!.identities![0]).toMatchObject({ provider: 'acme', id: sub, user_id: user!.id, email: address, identity_data: { sub, email: address, email_verified: true } });
    expect(user!.identities![0]!.identity_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(session!.provider_token).toEqual(expect.any(String));
    const claims = claimsOf(session!.access_token);
    expect(claims.amr).toEqual([{ method: 'oauth', timestamp: expect.any(Number) }]);
    expect(claims.app_metadata).toMatchObject({ provider: 'acme' });

    // The code is good once.
    const again = await fetch(`${app.auth}/token?grant_type=pkce`, {
      method: 'POST',
      headers: { apikey: app.anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({ auth_code: code, code_verifier: 'x'.repeat(43) }),
    });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error_code: string }).error_code).toBe('flow_state_not_found');

    // The same provider account signs in to the same user again.
    upstream.next = { login: sub };
    const second = client(app, 'pkce');
    const back = await signIn(second);
    const { data: again2 } = await second.auth.exchangeCodeForSession(new URL(back).searchParams.get('code')!);
    expect(again2.user!.id).toBe(user!.id);
    expect(again2.user!.identities).toHaveLength(1);
    expect(await auditOf(user!.id)).toEqual([
      { action: 'user_signedup', traits: { provider: 'acme' } },
      { action: 'login', traits: { provider_type: 'oauth' } },
      { action: 'login', traits: { provider_type: 'oauth' } },
    ]);
  });

  it('accepts the callback as a form post (response_mode=form_post)', async () => {
    const address = email('oidc-form');
    const sub = account(upstream, { email: address, email_verified: true });
    upstream.next = { login: sub };
    const supabase = client(app, 'pkce');
    const { data } = await supabase.auth.signInWithOAuth({
      provider: 'acme' as never,
      options: { redirectTo: `${APP}/form`, skipBrowserRedirect: true, queryParams: { response_mode: 'form_post' } },
    });
    const steps: string[] = [];
    const landed = await browse(data.url!, APP, new Map(), steps);
    expect(new URL(steps.at(-1)!).pathname).toBe('/auth/v1/callback');
    const { data: exchanged, error } = await supabase.auth.exchangeCodeForSession(new URL(landed).searchParams.get('code')!);
    expect(error).toBeNull();
    expect(exchanged.user!.email).toBe(address);
  });

  it('refuses a banned account', async () => {
    const address = email('oidc-banned');
    const sub = account(upstream, { email: address, email_verified: true });
    upstream.next = { login: sub };
    const supabase = client(app, 'pkce');
    const first = await signIn(supabase);
    const { data } = await supabase.auth.exchangeCodeForSession(new URL(first).searchParams.get('code')!);
    await app.admin().auth.admin.updateUserById(data.user!.id, { ban_duration: '24h' });
    upstream.next = { login: sub };
    const banned = new URL(await signIn(client(app, 'implicit'), `${APP}/after`));
    expect(banned.searchParams.get('error')).toBe('access_denied');
    expect(banned.searchParams.get('error_code')).toBe('user_banned');
    expect(fragmentOf(banned.toString()).has('access_token')).toBe(false);
  });

  it('signs in with the built-in Keycloak provider, a separate identity of the same account', async () => {
    const address = email('oidc-keycloak');
    const sub = account(upstream, { email: address, email_verified: true });
    upstream.next = { login: sub };
    const first = client(app, 'pkce');
    const acme = await signIn(first);
    const { data: viaAcme } = await first.auth.exchangeCodeForSession(new URL(acme).searchParams.get('code')!);
    upstream.next = { login: sub };
    const supabase = client(app, 'pkce');
    const { data } = await supabase.auth.signInWithOAuth({ provider: 'keycloak', options: { redirectTo: APP, skipBrowserRedirect: true } });
    const landed = await browse(data.url!, APP);
    const { data: viaKeycloak, error } = await supabase.auth.exchangeCodeForSession(new URL(landed).searchParams.get('code')!);
    expect(error).toBeNull();
    expect(viaKeycloak.user!.id).toBe(viaAcme.user!.id);
    expect(viaKeycloak.user!.identities!.map((identity) => identity.provider).sort()).toEqual(['acme', 'keycloak']);
    const settings = (await (await fetch(`${app.auth}/settings`)).json()) as { external: Record<string, boolean> };
    expect(settings.external.keycloak).toBe(true);
  });

  it('refuses a PKCE code traded with the wrong verifier', async () => {
    const sub = account(upstream, { email: email('oidc-verifier'), email_verified: true });
    upstream.next = { login: sub };
    const landed = await signIn(client(app, 'pkce'));
    const response = await fetch(`${app.auth}/token?grant_type=pkce`, {
      method: 'POST',
      headers: { apikey: app.anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({ auth_code: new URL(landed).searchParams.get('code'), code_verifier: 'y'.repeat(43) }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error_code: string }).error_code).toBe('bad_code_verifier');
  });

  it('signs in with the implicit flow: the session in the fragment', async () => {
    const address = email('oidc-implicit');
    const sub = account(upstream, { email: address, email_verified: true });
    upstream.next = { login: sub };
    const supabase = client(app, 'implicit');
    const landed = await signIn(supabase);
    expect(new URL(landed).search).toBe('');
    const fragment = fragmentOf(landed);
    expect(fragment.get('token_type')).toBe('bearer');
    expect(fragment.get('provider_token')).toEqual(expect.any(String));
    expect(fragment.has('sb')).toBe(true);
    expect(Number(fragment.get('expires_in'))).toBeGreaterThan(0);
    const { data, error } = await supabase.auth.setSession({ access_token: fragment.get('access_token')!, refresh_token: fragment.get('refresh_token')! });
    expect(error).toBeNull();
    expect(data.user!.email).toBe(address);
    expect(data.user!.identities![0]!.provider).toBe('acme');
  });

  it('links a verified provider address to the existing account with that address', async () => {
    const address = email('oidc-existing');
    const { data: created } = await app.admin().auth.admin.createUser({ email: address, password: 'correct-horse', email_confirm: true });
    const sub = account(upstream, { email: address.toUpperCase(), email_verified: true });
    upstream.next = { login: sub };
    const supabase = client(app, 'pkce');
    const landed = await signIn(supabase);
    const { data } = await supabase.auth.exchangeCodeForSession(new URL(landed).searchParams.get('code')!);
    expect(data.user!.id).toBe(created.user!.id);
    expect(data.user!.identities!.map((identity) => identity.provider).sort()).toEqual(['acme', 'email']);
    expect(data.user!.app_metadata.providers).toEqual(['acme', 'email']);
    expect((await auditOf(created.user!.id)).map((entry) => entry.action)).toContain('identity_linked');
  });

  it('does not let an unverified provider address take over the account with that address', async () => {
    const address = email('oidc-victim');
    const { data: victim } = await app.admin().auth.admin.createUser({ email: address, password: 'correct-horse', email_confirm: true });
    const sub = account(upstream, { email: address, email_verified: false });
    upstream.next = { login: sub };
    for (const flow of ['pkce', 'implicit'] as const) {
      const landed = await signIn(client(app, flow), `${APP}/after`);
      const url = new URL(landed);
      expect(url.searchParams.get('code')).toBeNull();
      expect(url.searchParams.get('error')).toBe('access_denied');
      expect(url.searchParams.get('error_code')).toBe('provider_email_needs_verification');
      expect(url.searchParams.get('error_description')).toBe('Unverified email with acme. Verify the email with acme in order to sign in');
      expect(fragmentOf(landed).get('error_code')).toBe('provider_email_needs_verification');
      expect(fragmentOf(landed).has('access_token')).toBe(false);
    }
    const { data } = await app.admin().auth.admin.getUserById(victim.user!.id);
    expect(data.user!.identities!.map((identity) => identity.provider)).toEqual(['email']);
    const { data: list } = await app.admin().auth.admin.listUsers({ perPage: 1000 });
    expect(list.users.filter((user) => user.email === address)).toHaveLength(1);
    expect(list.users.some((user) => user.identities?.some((identity) => identity.id === sub))).toBe(false);
  });

  it('answers a denied consent with error=access_denied at the redirect target', async () => {
    upstream.next = 'deny';
    const landed = await signIn(client(app, 'pkce'), `${APP}/after`);
    const url = new URL(landed);
    expect(url.origin + url.pathname).toBe(`${APP}/after`);
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(url.searchParams.get('error_description')).toBe('End-User aborted interaction');
    expect(url.searchParams.get('code')).toBeNull();
    expect(fragmentOf(landed).get('error')).toBe('access_denied');
  });

  it('sends a failed code exchange back to the app as server_error, without a session', async () => {
    const sub = account(upstream, { email: email('oidc-wrong'), email_verified: true });
    upstream.next = { login: sub };
    const { data } = await client(app, 'pkce').auth.signInWithOAuth({ provider: 'wrong' as never, options: { redirectTo: `${APP}/after`, skipBrowserRedirect: true } });
    const landed = new URL(await browse(data.url!, APP));
    expect(landed.searchParams.get('error')).toBe('server_error');
    expect(landed.searchParams.get('error_code')).toBe('unexpected_failure');
    expect(landed.searchParams.get('error_description')).toBe('Unable to exchange external code');
    expect(landed.searchParams.get('code')).toBeNull();
  });

  it('refuses a replayed, forged or missing state', async () => {
    const sub = account(upstream, { email: email('oidc-replay'), email_verified: true });
    upstream.next = { login: sub };
    const { data } = await client(app, 'pkce').auth.signInWithOAuth({ provider: 'acme' as never, options: { redirectTo: APP, skipBrowserRedirect: true } });
    const callback = await browse(data.url!, `${app.auth}/callback`);
    const first = await fetch(callback, { redirect: 'manual' });
    expect(first.status).toBe(302);
    expect(new URL(first.headers.get('location')!).searchParams.get('code')).toEqual(expect.any(String));

    const replay = await fetch(callback, { redirect: 'manual' });
    expect(replay.status).toBe(303);
    const replayed = new URL(replay.headers.get('location')!);
    expect(replayed.origin).toBe(APP);
    expect(replayed.searchParams.get('error_code')).toBe('flow_state_already_used');
    expect(replayed.searchParams.get('error')).toBe('invalid_request');

    const forgedUrl = new URL(callback);
    forgedUrl.searchParams.set('state', 'A'.repeat(43));
    const forged = new URL((await fetch(forgedUrl, { redirect: 'manual' })).headers.get('location')!);
    expect(forged.searchParams.get('error_code')).toBe('bad_oauth_state');

    const missing = new URL((await fetch(`${app.auth}/callback?code=abc`, { redirect: 'manual' })).headers.get('location')!);
    expect(missing.searchParams.get('error_code')).toBe('bad_oauth_callback');
  });

  it('refuses an unknown provider and a bad code challenge at /authorize', async () => {
    const unknown = await fetch(`${app.auth}/authorize?provider=nope&redirect_to=${encodeURIComponent(APP)}`, { redirect: 'manual', headers: { 'x-supabase-api-version': '2024-01-01' } });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ code: 'validation_failed', message: 'Unsupported provider: Provider nope could not be found' });
    const disabled = await fetch(`${app.auth}/authorize?provider=github`, { redirect: 'manual', headers: { 'x-supabase-api-version': '2024-01-01' } });
    expect(await disabled.json()).toEqual({ code: 'validation_failed', message: 'Unsupported provider: provider is not enabled' });
    const challenge = await fetch(`${app.auth}/authorize?provider=acme&code_challenge=short&code_challenge_method=s256`, { redirect: 'manual' });
    expect(challenge.status).toBe(400);
  });

  it('sends a look-alike redirect_to to the site URL instead', async () => {
    const sub = account(upstream, { email: email('oidc-redirect'), email_verified: true });
    upstream.next = { login: sub };
    const landed = await signIn(client(app, 'pkce'), 'https://app.example.com.evil.net/steal');
    expect(new URL(landed).origin).toBe(APP);
  });

  it('links and unlinks an identity with linkIdentity and unlinkIdentity', async () => {
    const address = email('oidc-link');
    const supabase = client(app, 'pkce');
    await supabase.auth.signUp({ email: address, password: 'correct-horse' });
    const { data: signedIn } = await supabase.auth.signInWithPassword({ email: address, password: 'correct-horse' });
    const userId = signedIn.user!.id;

    // A provider account with another address joins this user.
    const sub = account(upstream, { email: email('oidc-link-other'), email_verified: true });
    upstream.next = { login: sub };
    const { data: link, error: linkError } = await supabase.auth.linkIdentity({ provider: 'acme' as never, options: { redirectTo: `${APP}/linked`, skipBrowserRedirect: true } });
    expect(linkError).toBeNull();
    const landed = await browse(link.url!, APP);
    const { data: exchanged, error } = await supabase.auth.exchangeCodeForSession(new URL(landed).searchParams.get('code')!);
    expect(error).toBeNull();
    expect(exchanged.user!.id).toBe(userId);
    const { data: identities } = await supabase.auth.getUserIdentities();
    expect(identities!.identities.map((identity) => identity.provider).sort()).toEqual(['acme', 'email']);

    // The same provider account cannot be linked twice.
    upstream.next = { login: sub };
    const { data: twice } = await supabase.auth.linkIdentity({ provider: 'acme' as never, options: { redirectTo: `${APP}/linked`, skipBrowserRedirect: true } });
    const refused = new URL(await browse(twice.url!, APP));
    expect(refused.searchParams.get('error_code')).toBe('identity_already_exists');
    expect(refused.searchParams.get('error_description')).toBe('Identity is already linked');

    // Unlink the provider identity, then the last one is refused.
    const acme = identities!.identities.find((identity) => identity.provider === 'acme')!;
    expect((await supabase.auth.unlinkIdentity(acme)).error).toBeNull();
    const { data: after } = await supabase.auth.getUserIdentities();
    expect(after!.identities.map((identity) => identity.provider)).toEqual(['email']);
    const { data: user } = await supabase.auth.getUser();
    expect(user.user!.app_metadata.providers).toEqual(['email']);
    const last = await supabase.auth.unlinkIdentity(after!.identities[0]!);
    expect(last.error?.code).toBe('single_identity_not_deletable');
    expect(last.error?.status).toBe(422);
    const { error: notUuid } = await supabase.auth.unlinkIdentity({ ...after!.identities[0]!, identity_id: 'nope' });
    expect(notUuid?.status).toBe(404);
    const actions = (await auditOf(userId)).filter((entry) => entry.action.startsWith('identity_'));
    expect(actions).toEqual([
      { action: 'identity_linked', traits: { identity_id: acme.identity_id, provider: 'acme', provider_id: sub } },
      { action: 'identity_unlinked', traits: { identity_id: acme.identity_id, provider: 'acme', provider_id: sub } },
    ]);
  });

  it('gives the address of the remaining identity to an account whose email identity was unlinked', async () => {
    const address = email('oidc-promote');
    const other = email('oidc-promote-provider');
    const supabase = client(app, 'pkce');
    await supabase.auth.signUp({ email: address, password: 'correct-horse' });
    await supabase.auth.signInWithPassword({ email: address, password: 'correct-horse' });
    upstream.next = { login: account(upstream, { email: other, email_verified: true }) };
    const { data: link } = await supabase.auth.linkIdentity({ provider: 'acme' as never, options: { redirectTo: APP, skipBrowserRedirect: true } });
    await supabase.auth.exchangeCodeForSession(new URL(await browse(link.url!, APP)).searchParams.get('code')!);
    const { data: identities } = await supabase.auth.getUserIdentities();
    const emailIdentity = identities!.identities.find((identity) => identity.provider === 'email')!;
    expect((await supabase.auth.unlinkIdentity(emailIdentity)).error).toBeNull();
    const { data } = await supabase.auth.getUser();
    expect(data.user!.email).toBe(other);
    expect(data.user!.email_confirmed_at).toEqual(expect.any(String));
    expect(data.user!.app_metadata).toMatchObject({ providers: ['acme'] });
  });

  it('turns an anonymous user who links a provider into a user with its verified address', async () => {
    const supabase = client(app, 'pkce');
    const { data: anonymous, error } = await supabase.auth.signInAnonymously();
    expect(error).toBeNull();
    expect(anonymous.user!.is_anonymous).toBe(true);
    const address = email('oidc-anonymous');
    upstream.next = { login: account(upstream, { email: address, email_verified: true }) };
    const { data: link } = await supabase.auth.linkIdentity({ provider: 'acme' as never, options: { redirectTo: APP, skipBrowserRedirect: true } });
    const { data } = await supabase.auth.exchangeCodeForSession(new URL(await browse(link.url!, APP)).searchParams.get('code')!);
    expect(data.user!.id).toBe(anonymous.user!.id);
    expect(data.user!.email).toBe(address);
    expect(data.user!.is_anonymous).toBe(false);
    expect(claimsOf(data.session!.access_token).is_anonymous).toBe(false);

    // An unverified address is not adopted: the link is refused.
    const second = client(app, 'pkce');
    await second.auth.signInAnonymously();
    upstream.next = { login: account(upstream, { email: email('oidc-anonymous-unverified'), email_verified: false }) };
    const { data: refusedLink } = await second.auth.linkIdentity({ provider: 'acme' as never, options: { redirectTo: APP, skipBrowserRedirect: true } });
    const refused = new URL(await browse(refusedLink.url!, APP));
    expect(refused.searchParams.get('error_code')).toBe('provider_email_needs_verification');
    const { data: still } = await second.auth.getUser();
    expect(still.user!.is_anonymous).toBe(true);
    expect(still.user!.identities ?? []).toHaveLength(0);
  });

  it('refuses linking without a session', async () => {
    const response = await fetch(`${app.auth}/user/identities/authorize?provider=acme&skip_http_redirect=true`, { headers: { apikey: app.anonKey } });
    expect(response.status).toBe(401);
  });
});
