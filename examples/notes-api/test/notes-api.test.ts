import { Centrifuge, type PublicationContext } from 'centrifuge';
import { SignJWT, decodeJwt } from 'jose';
import WebSocket from 'ws';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withClaims } from '@latchkey/verify';
import { loadServerConfig, startServer, type RunningServer } from '@latchkey/server';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { notesApi } from '../src/index.js';

const LEGACY_SECRET = 'a-legacy-hs256-secret-of-at-least-32-characters';
const ENV = { LATCHKEY_RATE_LIMIT_SIGNUP: '0', LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0', LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '1', LATCHKEY_JWT_SECRET: LEGACY_SECRET };

interface Session {
  access_token: string;
  refresh_token: string;
  user: { id: string; email: string };
}

interface Call {
  status: number;
  body: any;
  headers: Headers;
}

describeEachDatabase('the example notes API behind Latchkey', (database) => {
  let server: RunningServer;
  let anonKey: string;
  let serviceRoleKey: string;
  const exercised = new Set<string>();

  async function call(operationId: string, method: string, path: string, token: string | null, body?: unknown): Promise<Call> {
    exercised.add(operationId);
    const headers: Record<string, string> = { apikey: anonKey };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  }

  let signUps = 0;
  async function signUp(): Promise<Session> {
    signUps += 1;
    const email = `notes-${signUps}-${Math.random().toString(36).slice(2)}@example.com`;
    const answer = await call('signUp', 'POST', '/auth/v1/signup', null, { email, password: 'correct horse battery' });
    expect(answer.status).toBe(200);
    return answer.body as Session;
  }

  async function refresh(session: Session): Promise<Session> {
    const answer = await call('refresh', 'POST', '/auth/v1/token?grant_type=refresh_token', null, { refresh_token: session.refresh_token });
    expect(answer.status).toBe(200);
    return answer.body as Session;
  }

  const organizationOf = (session: Session) => (decodeJwt(session.access_token).app_metadata as Record<string, unknown>) ?? {};

  let alice: Session; // owner of A
  let bob: Session; // member of A, later removed
  let carol: Session; // owner of B
  let orgA: string;
  let orgB: string;

  beforeAll(async () => {
    server = await startServer({
      env: ENV,
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      database: database(),
      extensions: [notesApi()],
    });
    ({ anonKey, serviceRoleKey } = server.services.identity!.apiKeys);
    [alice, bob, carol] = [await signUp(), await signUp(), await signUp()];
    orgA = (await call('createOrganization', 'POST', '/auth/v1/organizations', alice.access_token, { name: 'Acme' })).body.id;
    orgB = (await call('createOrganization', 'POST', '/auth/v1/organizations', carol.access_token, { name: 'Globex' })).body.id;
    // Bob becomes a member of A (how is the organizations API's business, tested with it).
    await server.db.query(`insert into auth.organization_members (organization_id, user_id, role) values ($1, $2, 'member')`, [orgA, bob.user.id]);
    [alice, bob, carol] = [await refresh(alice), await refresh(bob), await refresh(carol)];
    expect(organizationOf(bob)).toMatchObject({ organization_id: orgA, org_role: 'member' });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('isolates notes by organization through every endpoint and a raw select', async () => {
    const a1 = await call('createNote', 'POST', '/api/v1/notes', alice.access_token, { title: 'a1', body: 'first' });
    expect(a1.status).toBe(201);
    expect(a1.body).toMatchObject({ organization_id: orgA, author_id: alice.user.id, title: 'a1' });
    const b1 = await call('createNote', 'POST', '/api/v1/notes', carol.access_token, { title: 'b1' });
    expect(b1.body.organization_id).toBe(orgB);
    await call('createNote', 'POST', '/api/v1/notes', bob.access_token, { title: 'a2' });

    const titles = async (session: Session) => (await call('listNotes', 'GET', '/api/v1/notes?limit=50', session.access_token)).body.notes.map((n: { title: string }) => n.title).sort();
    expect(await titles(alice)).toEqual(['a1', 'a2']);
    expect(await titles(carol)).toEqual(['b1']);

    expect((await call('getNote', 'GET', `/api/v1/notes/${a1.body.id}`, carol.access_token)).status).toBe(404);
    expect((await call('getNote', 'GET', `/api/v1/notes/${a1.body.id}`, bob.access_token)).body.title).toBe('a1');
    expect((await call('updateNote', 'PATCH', `/api/v1/notes/${a1.body.id}`, carol.access_token, { title: 'stolen' })).status).toBe(404);
    expect((await call('updateNote', 'PATCH', `/api/v1/notes/${a1.body.id}`, bob.access_token, { title: 'a1 edited' })).body.title).toBe('a1 edited');
    expect((await call('createNote', 'POST', '/api/v1/notes', alice.access_token, { title: 'x', organization_id: orgB })).status).toBe(403);
    expect((await call('updateNote', 'PATCH', `/api/v1/notes/${a1.body.id}`, bob.access_token, {})).status).toBe(400);
    expect((await call('getNote', 'GET', '/api/v1/notes/not-a-uuid', bob.access_token)).status).toBe(400);

    // The database itself refuses: a raw select * as role authenticated with the caller's claims.
    const raw = await withClaims(server.db, decodeJwt(carol.access_token), async (tx) => (await tx.query<{ title: string }>('select * from public.notes')).rows);
    expect(raw.map((row) => row.title)).toEqual(['b1']);

    // Members cannot delete; owners can.
    expect((await call('deleteNote', 'DELETE', `/api/v1/notes/${a1.body.id}`, bob.access_token)).status).toBe(403);
    expect((await call('deleteNote', 'DELETE', `/api/v1/notes/${a1.body.id}`, alice.access_token)).status).toBe(204);
    expect((await call('deleteNote', 'DELETE', `/api/v1/notes/${a1.body.id}`, alice.access_token)).status).toBe(404);
  });

  it('answers 401 per RFC 6750 for no token and an expired one; the service role sees every organization', async () => {
    const none = await call('listNotes', 'GET', '/api/v1/notes', null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="latchkey"$/);
    const claims = { ...decodeJwt(alice.access_token) };
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claims, iat: now - 7200, exp: now - 3600 }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(LEGACY_SECRET));
    const answer = await call('listNotes', 'GET', '/api/v1/notes', expired);
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ error: 'invalid_token' });
    expect(answer.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);

    const all = await call('listNotes', 'GET', '/api/v1/notes', serviceRoleKey);
    expect(new Set(all.body.notes.map((n: { organization_id: string }) => n.organization_id))).toEqual(new Set([orgA, orgB]));
    const created = await call('createNote', 'POST', '/api/v1/notes', serviceRoleKey, { title: 'ops', organization_id: orgB });
    expect(created.body).toMatchObject({ organization_id: orgB, author_id: null });
    expect((await call('createNote', 'POST', '/api/v1/notes', serviceRoleKey, { title: 'nowhere' })).body).toMatchObject({ error: 'invalid_request' });
  });

  it('publishes note changes on the organization channel and serves the notes RPC methods', async () => {
    const client = new Centrifuge(`${server.url.replace('http', 'ws')}/connection/websocket`, { websocket: WebSocket, token: alice.access_token });
    try {
      const received: PublicationContext[] = [];
      const subscription = client.newSubscription(`org:${orgA}`);
      subscription.on('publication', (ctx) => received.push(ctx));
      const subscribed = new Promise((resolve) => subscription.once('subscribed', resolve));
      subscription.subscribe();
      client.connect();
      await subscribed;

      await call('createNote', 'POST', '/api/v1/notes', alice.access_token, { title: 'live' });
      await expect.poll(() => received.length).toBe(1);
      expect(received[0]!.data).toMatchObject({ type: 'note.created', note: { title: 'live', organization_id: orgA } });

      const viaRpc = await client.rpc('command.note.create', { title: 'from rpc' });
      expect(viaRpc.data).toMatchObject({ title: 'from rpc', organization_id: orgA });
      const listed = await client.rpc('query.note.list', { limit: 2 });
      expect((listed.data as { notes: { title: string }[] }).notes.map((n) => n.title)).toContain('from rpc');
      await expect(client.rpc('command.note.create', { title: '' })).rejects.toMatchObject({ code: 400 });
      await expect.poll(() => received.length).toBe(2);
    } finally {
      client.disconnect();
    }
  });

  it('accepts tokens signed with the legacy HS256 secret over HTTP and the gateway', async () => {
    const now = Math.floor(Date.now() / 1000);
    const legacy = await new SignJWT({ ...decodeJwt(alice.access_token), iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(LEGACY_SECRET));
    expect((await call('listNotes', 'GET', '/api/v1/notes', legacy)).status).toBe(200);
    const client = new Centrifuge(`${server.url.replace('http', 'ws')}/connection/websocket`, { websocket: WebSocket, token: legacy });
    try {
      const connected = new Promise<{ client: string }>((resolve) => client.once('connected', resolve as never));
      client.connect();
      expect((await connected).client).toBeTruthy();
      const listed = await client.rpc('query.note.list', {});
      expect(Array.isArray((listed.data as { notes: unknown[] }).notes)).toBe(true);
    } finally {
      client.disconnect();
    }
  });

  it('a removed member loses access at once, and the organization at the next refresh', async () => {
    expect((await call('listNotes', 'GET', '/api/v1/notes', bob.access_token)).status).toBe(200);
    expect((await call('removeMember', 'DELETE', `/auth/v1/organizations/${orgA}/members/${bob.user.id}`, alice.access_token)).status).toBe(204);
    // The old token still names A: the removal's revocation event, followed by the API, refuses it.
    await expect.poll(async () => (await call('listNotes', 'GET', '/api/v1/notes', bob.access_token)).status, { timeout: 1000, interval: 10 }).toBe(401);
    bob = await refresh(bob);
    expect(organizationOf(bob).organization_id).toBeUndefined();
    expect((await call('createNote', 'POST', '/api/v1/notes', bob.access_token, { title: 'x' })).body).toMatchObject({ error: 'no_organization' });
    expect((await call('listNotes', 'GET', '/api/v1/notes', bob.access_token)).body).toEqual({ notes: [] });
  });

  it('serves a valid OpenAPI 3.1 document with every notes operation exercised, and the organization endpoints', async () => {
    const document = (await (await fetch(`${server.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId: string }>> };
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const operations = (prefix: string) => Object.entries(document.paths).filter(([path]) => path.startsWith(prefix)).flatMap(([, methods]) => Object.values(methods).map((operation) => operation.operationId));
    expect(new Set(operations('/api/v1/'))).toEqual(new Set([...exercised].filter((id) => /Note/.test(id))));
    expect(operations('/auth/v1/organizations')).toContain('switchOrganization');
    const docs = await fetch(`${server.url}/api/v1/docs`);
    expect(docs.headers.get('content-type')).toMatch(/text\/html/);
    const page = await docs.text();
    expect(page).toContain('/api/v1/notes/{id}');
    expect(page).toContain('href="/api/v1/openapi.json"');
  });
});
