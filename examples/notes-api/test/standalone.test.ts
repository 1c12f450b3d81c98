import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventStreamSource } from '@latchkey/verify/revocations';
import { loadServerConfig, migrateExtension, startServer, type RunningServer } from '@latchkey/server';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { notesApi, type MountedNotesApi } from '../src/index.js';

const ENV = { LATCHKEY_RATE_LIMIT_SIGNUP: '0', LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0' };

// The notes API in a process of its own, as an app team runs its API: a Fastify app of its own, tokens
// verified through the identity service's JWKS over HTTP, session ends followed through the revocation
// feed's event stream — nothing shared with the Latchkey process but the database.
describeEachDatabase('the notes API as a separate resource server', (database) => {
  let latchkey: RunningServer;
  let app: FastifyInstance;
  let mounted: MountedNotesApi;
  let apiUrl: string;

  beforeAll(async () => {
    latchkey = await startServer({ env: ENV, config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }), database: database() });
    await migrateExtension(database(), notesApi());
    const identity = latchkey.services.identity!;
    const serviceRoleKey = identity.apiKeys.serviceRoleKey;
    app = Fastify();
    mounted = await notesApi().mount({
      app,
      db: database(),
      logger: app.log,
      publicUrl: () => apiUrl,
      tokens: {
        jwksUrl: () => `${latchkey.url}/auth/v1/.well-known/jwks.json`,
        issuer: () => identity.issuer(),
        audience: 'authenticated',
        secret: null,
        serviceRoleKey,
      },
      revocationSource: () => eventStreamSource({ url: `${latchkey.url}/auth/v1/revocations`, serviceKey: serviceRoleKey }),
      realtime: null,
    });
    apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app?.close();
    await mounted?.close();
    await latchkey?.close();
  });

  it('serves notes to a token of the identity service and refuses it within a second of sign-out', async () => {
    const anonKey = latchkey.services.identity!.apiKeys.anonKey;
    const auth = async (path: string, body: unknown, token?: string) => {
      const response = await fetch(`${latchkey.url}/auth/v1${path}`, {
        method: 'POST',
        headers: { apikey: anonKey, 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    };
    const signedUp = await auth('/signup', { email: `standalone-${Date.now()}@example.com`, password: 'correct horse battery' });
    const organization = await auth('/organizations', { name: 'Standalone' }, signedUp.body.access_token);
    const switched = await auth(`/organizations/${organization.body.id}/switch`, {}, signedUp.body.access_token);
    const token = switched.body.access_token as string;

    const notes = (method = 'GET', body?: unknown) =>
      fetch(`${apiUrl}/api/v1/notes`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const created = await notes('POST', { title: 'from the separate app' });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ organization_id: organization.body.id, title: 'from the separate app' });
    expect(((await (await notes()).json()) as { notes: { title: string }[] }).notes.map((note) => note.title)).toEqual(['from the separate app']);

    expect((await auth('/logout', {}, token)).status).toBe(204);
    await expect.poll(async () => (await notes()).status, { timeout: 1000, interval: 10 }).toBe(401);
  });
});
