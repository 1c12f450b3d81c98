import type { FastifyInstance, HTTPMethods, LightMyRequestResponse } from 'fastify';
import { loadServerConfig, startServer, type Database, type RunningServer } from '@latchkey/server';
import { notesApi } from '@latchkey/example-notes-api';
import { TEST_ENV } from '../identity/support.js';

/** A route as Fastify registered it. */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
}

/** Rows whose count must not change when a request is refused. */
export const COUNTED_TABLES = ['auth.users', 'auth.identities', 'public.notes', 'auth.organizations', 'auth.organization_members', 'auth.oauth_clients', 'auth.mfa_factors'] as const;

/** Every service of the product on one database, with credentials and ids to aim requests with. */
export interface Target {
  readonly server: RunningServer;
  readonly app: FastifyInstance;
  /** Every route registered after the recorder, read from Fastify's `onRoute` hook. */
  readonly routes: readonly RouteEntry[];
  readonly anonKey: string;
  readonly serviceKey: string;
  readonly gatewayKey: string;
  /** A confirmed user who owns an organization, its token (with the organization), a note and a client. */
  readonly fixture: Fixture;
  /** Replaces `{{name}}` with the fixture's current value (so generated requests survive {@link renew}). */
  resolve(text: string): string;
  /** Makes a fresh fixture when the current user's token stopped working (logged out, banned, deleted). */
  renew(): Promise<void>;
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export interface Fixture {
  userToken: string;
  user: string;
  organization: string;
  note: string;
  client: string;
}

export const GATEWAY_KEY = 'fuzz-gateway-api-key';

/** Records each route the services register (run before they are built). */
function routeRecorder(routes: RouteEntry[]): (app: FastifyInstance) => void {
  return (app) => {
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url });
    });
  };
}

async function expectOk(response: LightMyRequestResponse, what: string): Promise<Record<string, unknown>> {
  if (response.statusCode >= 300) throw new Error(`${what}: ${response.statusCode} ${response.body}`);
  return response.body ? (response.json() as Record<string, unknown>) : {};
}

export async function startTarget(database: Database): Promise<Target> {
  const routes: RouteEntry[] = [];
  const server = await startServer({
    env: { ...TEST_ENV, LATCHKEY_GATEWAY_API_KEY: GATEWAY_KEY },
    config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
    database,
    prepare: routeRecorder(routes),
    extensions: [notesApi()],
  });
  const app = server.app;
  const identity = server.services.identity!;
  const { anonKey, serviceRoleKey } = identity.apiKeys;
  const json = (method: HTTPMethods, url: string, body: unknown, token = anonKey) =>
    app.inject({ method, url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', apikey: anonKey, authorization: `Bearer ${token}` } });

  let made = 0;
  async function makeFixture(): Promise<Fixture> {
    made += 1;
    const email = `fuzz-${made}-${Date.now().toString(36)}@example.com`;
    const password = 'correct horse battery staple';
    const signup = await expectOk(await json('POST', '/auth/v1/signup', { email, password }), 'signup');
    const user = (signup.user as { id: string } | undefined)?.id ?? (signup.id as string);
    const first = await expectOk(await json('POST', '/auth/v1/token?grant_type=password', { email, password }), 'login');
    const organization = (await expectOk(await json('POST', '/auth/v1/organizations', { name: 'Fuzz' }, first.access_token as string), 'organization')).id as string;
    const switched = await expectOk(await json('POST', `/auth/v1/organizations/${organization}/switch`, {}, first.access_token as string), 'switch');
    const userToken = switched.access_token as string;
    const note = (await expectOk(await json('POST', '/api/v1/notes', { title: 'first', body: 'text' }, userToken), 'note')).id as string;
    const client = (await expectOk(await json('POST', '/auth/v1/admin/oauth/clients', { client_name: 'fuzz' }, serviceRoleKey), 'client')).client_id as string;
    return { userToken, user, organization, note, client };
  }
  const fixture = await makeFixture();
  const values = (): Record<string, string> => ({ ...fixture, anonKey, serviceKey: serviceRoleKey, gatewayKey: GATEWAY_KEY });

  return {
    server,
    app,
    routes,
    anonKey,
    serviceKey: serviceRoleKey,
    gatewayKey: GATEWAY_KEY,
    fixture,
    resolve: (text) => text.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => values()[name] ?? whole),
    async renew() {
      const check = await app.inject({ method: 'GET', url: '/api/v1/notes', headers: { authorization: `Bearer ${fixture.userToken}` } });
      const user = await app.inject({ method: 'GET', url: '/auth/v1/user', headers: { apikey: anonKey, authorization: `Bearer ${fixture.userToken}` } });
      if (check.statusCode === 200 && user.statusCode === 200) return;
      Object.assign(fixture, await makeFixture());
    },
    async counts() {
      const { rows } = await database.query<Record<string, number>>(`select ${COUNTED_TABLES.map((table) => `(select count(*)::int from ${table}) as "${table}"`).join(', ')}`);
      return { ...rows[0] };
    },
    close: () => server.close(),
  };
}
