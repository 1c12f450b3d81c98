/**
 * Upstream sign-in providers run inside the test process: a real OpenID provider (`oidc-provider`) whose
 * interaction logs in and consents by itself (or denies), and a small HTTP server in GitHub's OAuth
 * shape. Plus a cookie-keeping "browser" that follows redirects until it reaches the app.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/** What the next interaction does: log in as an account, or deny. */
export type NextInteraction = { readonly login: string } | 'deny';

/** Profile claims of an account at the OpenID provider. */
export interface UpstreamAccount {
  readonly email?: string;
  readonly email_verified?: boolean;
  readonly name?: string;
}

export interface OidcUpstream {
  readonly issuer: string;
  readonly clientId: string;
  readonly secret: string;
  readonly accounts: Map<string, UpstreamAccount>;
  /** Set before each sign-in. */
  next: NextInteraction;
  /** Registers the client with its redirect URI and starts answering. */
  start(redirectUri: string): Promise<void>;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** An OpenID provider on a free port; call `start` once the redirect URI is known. */
export async function oidcUpstream(): Promise<OidcUpstream> {
  let handler: http.RequestListener = (_request, response) => response.writeHead(503).end();
  const server = http.createServer((request, response) => handler(request, response));
  const issuer = await listen(server);
  const upstream: OidcUpstream = {
    issuer,
    clientId: 'latchkey-test',
    secret: randomBytes(16).toString('hex'),
    accounts: new Map(),
    next: 'deny',
    async start(redirectUri) {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const signing = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test' };
      const provider = new Provider(issuer, {
        clients: [
          {
            client_id: upstream.clientId,
            client_secret: upstream.secret,
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
            token_endpoint_auth_method: 'client_secret_basic',
          },
        ],
        jwks: { keys: [signing as never] },
        cookies: { keys: [randomBytes(16).toString('hex')] },
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
        conformIdTokenClaims: false,
        ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
        features: { devInteractions: { enabled: false } },
        interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
        findAccount: (_ctx, sub) => {
          const account = upstream.accounts.get(sub);
          if (!account) return undefined;
          return { accountId: sub, claims: () => ({ sub, ...account }) };
        },
      });
      const callback = provider.callback();
      handler = (request, response) => {
        if (!request.url?.startsWith('/interaction/')) return void callback(request, response);
        void interact(provider, upstream, request, response).catch((error: unknown) => {
          response.writeHead(500).end(String(error));
        });
      };
    },
    close: () => closeServer(server),
  };
  return upstream;
}

async function interact(provider: Provider, upstream: OidcUpstream, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(request, response);
  const next = upstream.next;
  if (next === 'deny') {
    await provider.interactionFinished(request, response, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
    return;
  }
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(request, response, { login: { accountId: next.login } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
  grant.addOIDCScope(String(details.params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(request, response, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

/** A GitHub user as the fake serves it. */
export interface GithubUser {
  readonly id: number;
  readonly login: string;
  readonly name: string;
  readonly emails: readonly { email: string; primary: boolean; verified: boolean }[];
}

export interface GithubUpstream {
  /** The base URL (`GOTRUE_EXTERNAL_GITHUB_URL`): `/login/oauth/*` here, the API under `/api/v3`. */
  readonly url: string;
  readonly clientId: string;
  readonly secret: string;
  /** Who the next authorization logs in as, or `deny`. */
  next: GithubUser | 'deny';
  /** Authorization requests seen (their query), newest last. */
  readonly requests: URLSearchParams[];
  close(): Promise<void>;
}

/**
 * A server in GitHub's OAuth shape: `GET /login/oauth/authorize` (answers at once, as a user who already
 * authorized the app), `POST /login/oauth/access_token` (form body, client secret, PKCE verifier
 * checked), `GET /api/v3/user` and `/api/v3/user/emails` with the bearer token.
 */
export async function githubUpstream(): Promise<GithubUpstream> {
  const codes = new Map<string, { user: GithubUser; challenge: string | null; redirectUri: string }>();
  const tokens = new Map<string, GithubUser>();
  const upstream: GithubUpstream = {
    url: '',
    clientId: 'Iv1.latchkeytest',
    secret: randomBytes(20).toString('hex'),
    next: 'deny',
    requests: [],
    close: () => closeServer(server),
  };
  const json = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://github.test');
    if (request.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      upstream.requests.push(url.searchParams);
      const back = new URL(url.searchParams.get('redirect_uri') ?? '');
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      if (url.searchParams.get('client_id') !== upstream.clientId) {
        back.searchParams.set('error', 'invalid_client');
      } else if (upstream.next === 'deny') {
        back.searchParams.set('error', 'access_denied');
        back.searchParams.set('error_description', 'The user has denied your application access.');
      } else {
        const code = randomBytes(10).toString('hex');
        codes.set(code, { user: upstream.next, challenge: url.searchParams.get('code_challenge'), redirectUri: back.origin + back.pathname });
        back.searchParams.set('code', code);
      }
      response.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (request.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const form = new URLSearchParams(body);
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        // GitHub answers refusals with 200 and an error body.
        if (form.get('client_id') !== upstream.clientId || form.get('client_secret') !== upstream.secret) return json(response, 200, { error: 'incorrect_client_credentials' });
        if (!grant || grant.redirectUri !== form.get('redirect_uri')) return json(response, 200, { error: 'bad_verification_code' });
        if (grant.challenge && createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) return json(response, 200, { error: 'bad_verification_code' });
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.set(token, grant.user);
        json(response, 200, { access_token: token, token_type: 'bearer', scope: 'user:email' });
      });
      return;
    }
    const user = tokens.get((request.headers.authorization ?? '').replace(/^(Bearer|token) /i, ''));
    if (!user) return json(response, 401, { message: 'Bad credentials' });
    if (url.pathname === '/api/v3/user') return json(response, 200, { id: user.id, login: user.login, name: user.name, avatar_url: `https://avatars.example.com/${user.id}`, email: null });
    if (url.pathname === '/api/v3/user/emails') return json(response, 200, user.emails.map((email) => ({ ...email, visibility: email.primary ? 'private' : null })));
    json(response, 404, { message: 'Not Found' });
  });
  (upstream as { url: string }).url = await listen(server);
  return upstream;
}

/**
 * Follows redirects like a browser (keeping cookies, submitting `form_post` pages) from `url` until one
 * leads to `stopAt`; returns that final URL. Throws when a page answers without either.
 */
export async function browse(url: string, stopAt: string, jar = new Map<string, string>(), steps: string[] = []): Promise<string> {
  let current = url;
  let pendingForm: string | null = null;
  for (let step = 0; step < 20; step += 1) {
    if (current.startsWith(stopAt)) return current;
    steps.push(current);
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers: Record<string, string> = cookie ? { cookie } : {};
    const response = await (pendingForm
      ? fetch(current, { method: 'POST', redirect: 'manual', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: pendingForm })
      : fetch(current, { redirect: 'manual', headers }));
    pendingForm = null;
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    let location = response.headers.get('location');
    if (!location) {
      const page = await response.text();
      // A `form_post` answer: the page submits its form by script; do what the browser does.
      const form = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(page);
      if (!form) throw new Error(`${current} answered ${response.status} without a redirect: ${page.slice(0, 300)}`);
      const fields = new URLSearchParams();
      for (const input of form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)) fields.set(input[1]!, unescapeHtml(input[2]!));
      pendingForm = fields.toString();
      location = unescapeHtml(form[1]!);
    }
    current = new URL(location, current).toString();
  }
  throw new Error(`too many redirects from ${url}`);
}

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_match, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[entity]!);
}

/** The parameters of a URL's fragment. */
export function fragmentOf(url: string): URLSearchParams {
  return new URLSearchParams(new URL(url).hash.slice(1));
}
