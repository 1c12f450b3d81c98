import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import type { Centrifuge } from 'centrifuge';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger, loadServerConfig, startServer, type RunningServer } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { TEST_ENV } from '../identity/support.js';
import { officialClient, once } from './support.js';

const PASSWORD = 'correct-horse-battery-1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describeEachDatabase('what an attacker tries against the token endpoints and the socket', (database) => {
  let server: RunningServer;
  let anonKey: string;
  let serviceKey: string;
  let wsUrl: string;
  const clients: Centrifuge[] = [];

  beforeAll(async () => {
    server = await startServer({
      env: { ...TEST_ENV, LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '1' },
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      logger: createLogger('silent'),
      database: database(),
      services: { identity: true, gateway: true },
    });
    anonKey = server.services.identity!.apiKeys.anonKey;
    serviceKey = server.services.identity!.apiKeys.serviceRoleKey;
    wsUrl = `${server.url.replace(/^http/, 'ws')}/connection/websocket`;
    server.services.gateway!.registerRpc('whoami', (_data, context) => ({ user: context.user }));
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.close();
  });

  const call = async (method: string, path: string, body?: unknown, key = anonKey, bearer = key): Promise<Answer> => {
    const response = await fetch(`${server.url}/auth/v1${path}`, {
      method,
      headers: { apikey: key, authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  const oauth = async (form: Record<string, string>): Promise<Answer> => {
    const response = await fetch(`${server.url}/auth/v1/oauth/token`, {
      method: 'POST',
      headers: { apikey: anonKey, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const signUp = async (): Promise<{ email: string; id: string; access: string; refresh: string }> => {
    const email = `attack-${randomUUID()}@example.com`;
    const { status, body } = await call('POST', '/signup', { email, password: PASSWORD });
    expect(status).toBe(200);
    return { email, id: (body.user as { id: string }).id, access: body.access_token as string, refresh: body.refresh_token as string };
  };
  const restricted = async (): Promise<Centrifuge> => {
    const client = officialClient(wsUrl);
    clients.push(client);
    client.connect();
    await once(client, 'connected');
    return client;
  };
  const socketRefresh = async (refreshToken: string): Promise<{ ok: boolean; code?: number; message?: string }> => {
    const client = await restricted();
    try {
      await client.rpc('auth.refresh', { refresh_token: refreshToken });
      return { ok: true };
    } catch (error) {
      const { code, message } = error as { code: number; message: string };
      return { ok: false, code, message };
    } finally {
      client.disconnect();
    }
  };
  const socketLogin = async (email: string, password: string): Promise<{ ok: boolean; code?: number; message?: string }> => {
    const client = await restricted();
    try {
      await client.rpc('auth.login', { email, password });
      return { ok: true };
    } catch (error) {
      const { code, message } = error as { code: number; message: string };
      return { ok: false, code, message };
    } finally {
      client.disconnect();
    }
  };
  /** Connects with `token`; resolves with the first of connected / disconnected. */
  const connectWith = async (token: string): Promise<{ client: Centrifuge; state: 'connected' | 'disconnected'; code?: number }> => {
    const client = officialClient(wsUrl, { token });
    clients.push(client);
    const result = new Promise<{ state: 'connected' | 'disconnected'; code?: number }>((resolve) => {
      client.once('connected', () => resolve({ state: 'connected' }));
      client.once('disconnected', (context: { code: number }) => resolve({ state: 'disconnected', code: context.code }));
    });
    client.connect();
    return { client, ...(await result) };
  };

  it('a spent refresh token replayed on /oauth/token after the reuse interval ends the whole family', async () => {
    const user = await signUp();
    const rotated = await call('POST', '/token?grant_type=refresh_token', { refresh_token: user.refresh });
    expect(rotated.status).toBe(200);
    await sleep(1300);
    const replay = await oauth({ grant_type: 'refresh_token', refresh_token: user.refresh });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    const owner = await call('POST', '/token?grant_type=refresh_token', { refresh_token: rotated.body.refresh_token });
    expect(owner.status).toBe(400);
    expect(owner.body.error_code).toBe('refresh_token_already_used');
  });

  it('a spent refresh token replayed over the socket after the reuse interval ends the whole family', async () => {
    const user = await signUp();
    const rotated = await oauth({ grant_type: 'refresh_token', refresh_token: user.refresh });
    expect(rotated.status).toBe(200);
    await sleep(1300);
    expect(await socketRefresh(user.refresh)).toEqual({ ok: false, code: 400, message: 'refresh_token_already_used' });
    const owner = await socketRefresh(rotated.body.refresh_token as string);
    expect(owner).toEqual({ ok: false, code: 400, message: 'refresh_token_already_used' });
  });

  it('reuse detected over the socket closes the family’s connections and refuses its access tokens', async () => {
    const user = await signUp();
    const rotated = await call('POST', '/token?grant_type=refresh_token', { refresh_token: user.refresh });
    const access = rotated.body.access_token as string;
    const { client, state } = await connectWith(access);
    expect(state).toBe('connected');
    const closed = once<{ code: number }>(client, 'disconnected');
    await sleep(1300);
    expect((await socketRefresh(user.refresh)).message).toBe('refresh_token_already_used');
    await closed;
    expect([401, 403]).toContain((await call('GET', '/user', undefined, anonKey, access)).status);
    expect((await connectWith(access)).state).toBe('disconnected');
  });

  it('a session ended by logout refreshes on no path', async () => {
    const user = await signUp();
    expect((await call('POST', '/logout', undefined, anonKey, user.access)).status).toBe(204);
    expect((await call('POST', '/token?grant_type=refresh_token', { refresh_token: user.refresh })).status).toBe(400);
    expect((await oauth({ grant_type: 'refresh_token', refresh_token: user.refresh })).status).toBe(400);
    expect((await socketRefresh(user.refresh)).ok).toBe(false);
  });

  it('a banned user signs in and refreshes on no path, and its socket is closed', async () => {
    const user = await signUp();
    const { client, state } = await connectWith(user.access);
    expect(state).toBe('connected');
    const closed = once<{ code: number }>(client, 'disconnected');
    const ban = await call('PUT', `/admin/users/${user.id}`, { ban_duration: '100h' }, serviceKey);
    expect(ban.status).toBe(200);
    expect((await closed).code).toBeGreaterThanOrEqual(3000);
    expect((await call('POST', '/token?grant_type=password', { email: user.email, password: PASSWORD })).body.error_code).toBe('user_banned');
    expect((await oauth({ grant_type: 'password', username: user.email, password: PASSWORD })).status).toBe(400);
    expect(await socketLogin(user.email, PASSWORD)).toMatchObject({ ok: false, message: 'user_banned' });
    expect((await call('POST', '/token?grant_type=refresh_token', { refresh_token: user.refresh })).status).toBe(400);
    expect((await oauth({ grant_type: 'refresh_token', refresh_token: user.refresh })).status).toBe(400);
    expect((await socketRefresh(user.refresh)).ok).toBe(false);
    // The old access token opens no new connection.
    expect((await connectWith(user.access)).state).toBe('disconnected');
  });

  it('a deleted user: socket closed, refresh refused, access token refused by the gateway', async () => {
    const user = await signUp();
    const { client, state } = await connectWith(user.access);
    expect(state).toBe('connected');
    const closed = once<{ code: number }>(client, 'disconnected');
    expect((await call('DELETE', `/admin/users/${user.id}`, undefined, serviceKey)).status).toBe(200);
    await closed;
    expect((await oauth({ grant_type: 'refresh_token', refresh_token: user.refresh })).status).toBe(400);
    expect((await socketRefresh(user.refresh)).ok).toBe(false);
    expect((await connectWith(user.access)).state).toBe('disconnected');
  });

  it('a password change ends the other sessions: their refresh tokens are refused on every path', async () => {
    const user = await signUp();
    const other = await call('POST', '/token?grant_type=password', { email: user.email, password: PASSWORD });
    expect(other.status).toBe(200);
    const changed = await call('PUT', '/user', { password: 'another-horse-battery-2' }, anonKey, user.access);
    expect(changed.status).toBe(200);
    const refresh = other.body.refresh_token as string;
    const answers = [
      (await call('POST', '/token?grant_type=refresh_token', { refresh_token: refresh })).status,
      (await oauth({ grant_type: 'refresh_token', refresh_token: refresh })).status,
      (await socketRefresh(refresh)).ok ? 200 : 400,
    ];
    expect(answers).toEqual([400, 400, 400]);
  });

  /** A raw JSON-protocol connection: replies so far, and the close code once closed. */
  const rawJson = async () => {
    const ws = new WebSocket(wsUrl);
    const replies: Record<string, unknown>[] = [];
    ws.on('message', (data: Buffer) => {
      for (const line of data.toString('utf8').split('\n')) if (line.trim() !== '') replies.push(JSON.parse(line) as Record<string, unknown>);
    });
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return { ws, replies, closed, send: (command: unknown) => ws.send(JSON.stringify(command)) };
  };

  it('logout closes the session’s socket, and its access token opens no new one', async () => {
    const user = await signUp();
    const { client, state } = await connectWith(user.access);
    expect(state).toBe('connected');
    const closed = once<{ code: number }>(client, 'disconnected');
    expect((await call('POST', '/logout', undefined, anonKey, user.access)).status).toBe(204);
    await closed;
    expect((await connectWith(user.access)).state).toBe('disconnected');
  });

  it('an in-band refresh with another user’s token, or an ended session’s, does not take over the connection', async () => {
    const alice = await signUp();
    const bob = await signUp();
    const raw = await rawJson();
    raw.send({ id: 1, connect: { token: alice.access } });
    await expect.poll(() => raw.replies.length).toBe(1);
    expect(raw.replies[0]!.connect).toBeDefined();
    raw.send({ id: 2, refresh: { token: bob.access } });
    const outcome = await Promise.race([raw.closed.then((code) => ({ code })), expect.poll(() => raw.replies.length).toBe(2).then(() => raw.replies[1]!)]);
    if ('code' in outcome) expect(outcome.code).not.toBe(1000);
    else expect(outcome.error).toBeDefined();
    raw.ws.close();
    // An ended session's token refreshes nothing either.
    const carol = await signUp();
    const spare = await call('POST', '/token?grant_type=password', { email: carol.email, password: PASSWORD });
    const live = await rawJson();
    live.send({ id: 1, connect: { token: spare.body.access_token } });
    await expect.poll(() => live.replies.length).toBe(1);
    expect((await call('POST', '/logout?scope=local', undefined, anonKey, carol.access)).status).toBe(204);
    live.send({ id: 3, rpc: { method: 'whoami', data: {} } });
    await expect.poll(() => live.replies.length).toBe(2);
    expect(live.replies[1]!.rpc, 'the other session stays connected').toBeDefined();
    live.send({ id: 2, refresh: { token: carol.access } });
    const ended = await Promise.race([live.closed.then((code) => ({ code })), expect.poll(() => live.replies.length).toBe(3).then(() => live.replies[2]!)]);
    if ('code' in ended) expect(ended.code).not.toBe(1000);
    else expect(ended.error, JSON.stringify(ended)).toBeDefined();
    live.ws.close();
  });

  const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

  it('with a verified TOTP factor, a password alone gives aal1 on every path and cannot remove the factor', async () => {
    const user = await signUp();
    const factor = (await call('POST', '/factors', { factor_type: 'totp', friendly_name: 'phone' }, anonKey, user.access)).body as { id: string; totp: { secret: string } };
    const challenge = (await call('POST', `/factors/${factor.id}/challenge`, {}, anonKey, user.access)).body as { id: string };
    const codeAt = (offsetSteps: number) => authenticator.clone({ epoch: Date.now() + offsetSteps * 30_000 }).generate(factor.totp.secret);
    const verified = await call('POST', `/factors/${factor.id}/verify`, { challenge_id: challenge.id, code: codeAt(-1) }, anonKey, user.access);
    expect(verified.status).toBe(200);

    const viaToken = await call('POST', '/token?grant_type=password', { email: user.email, password: PASSWORD });
    expect(viaToken.status).toBe(200);
    expect(claimsOf(viaToken.body.access_token as string).aal).toBe('aal1');
    expect((await oauth({ grant_type: 'password', username: user.email, password: PASSWORD })).status).toBe(400);
    const client = await restricted();
    const viaSocket = (await client.rpc('auth.login', { email: user.email, password: PASSWORD })).data as { access_token: string; refresh_token: string };
    client.disconnect();
    expect(claimsOf(viaSocket.access_token).aal).toBe('aal1');
    // Refreshing keeps aal1, on every path.
    const refreshed = await oauth({ grant_type: 'refresh_token', refresh_token: viaSocket.refresh_token });
    expect(claimsOf(refreshed.body.access_token as string).aal).toBe('aal1');
    // The aal1 session cannot take the second factor away.
    const removed = await call('DELETE', `/factors/${factor.id}`, undefined, anonKey, viaToken.body.access_token as string);
    expect(removed.status).not.toBe(200);
    expect((await oauth({ grant_type: 'password', username: user.email, password: PASSWORD })).status).toBe(400);
  });

  it('an unconfirmed e-mail signs in on no path', async () => {
    const email = `unconfirmed-${randomUUID()}@example.com`;
    expect((await call('POST', '/admin/users', { email, password: PASSWORD }, serviceKey)).status).toBe(200);
    expect((await call('POST', '/token?grant_type=password', { email, password: PASSWORD })).body.error_code).toBe('email_not_confirmed');
    expect((await oauth({ grant_type: 'password', username: email, password: PASSWORD })).status).toBe(400);
    expect(await socketLogin(email, PASSWORD)).toMatchObject({ ok: false, message: 'email_not_confirmed' });
  });

  it('the API keys open no socket; a deleted OAuth client’s token closes its socket and opens no new one', async () => {
    expect((await connectWith(anonKey)).state).toBe('disconnected');
    expect((await connectWith(serviceKey)).state).toBe('disconnected');
    const created = await call('POST', '/admin/oauth/clients', { client_name: 'socket worker' }, serviceKey);
    expect(created.status).toBe(201);
    const clientId = created.body.client_id as string;
    const issued = await oauth({ grant_type: 'client_credentials', client_id: clientId, client_secret: created.body.client_secret as string });
    expect(issued.status).toBe(200);
    const token = issued.body.access_token as string;
    const { client, state } = await connectWith(token);
    expect(state).toBe('connected');
    const closed = once<{ code: number }>(client, 'disconnected');
    expect((await call('DELETE', `/admin/oauth/clients/${clientId}`, undefined, serviceKey)).status).toBeLessThan(300);
    await closed;
    expect((await connectWith(token)).state).toBe('disconnected');
  });

  it('refuses forged tokens at the gateway and the admin API: alg none, HS256 keyed with the public key', async () => {
    const user = await signUp();
    const [header, payload] = user.access.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const jwks = (await (await fetch(`${server.url}/auth/v1/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: string }).kid;
    const forged: string[] = [];
    const admin = { ...claims, role: 'service_role' };
    for (const body of [claims, admin]) {
      forged.push(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(body)}.`);
      forged.push(`${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(body)}.`);
      for (const key of [JSON.stringify(jwks.keys[0]), JSON.stringify(jwks.keys)]) {
        const signingInput = `${b64({ alg: 'HS256', typ: 'JWT', kid })}.${b64(body)}`;
        forged.push(`${signingInput}.${createHmac('sha256', key).update(signingInput).digest('base64url')}`);
      }
    }
    for (const token of forged) {
      expect((await connectWith(token)).state).toBe('disconnected');
      const adminAnswer = await call('GET', '/admin/users', undefined, anonKey, token);
      expect([401, 403], JSON.stringify(adminAnswer.body)).toContain(adminAnswer.status);
      expect(adminAnswer.body.error_code).toBe('bad_jwt');
      const userAnswer = await call('GET', '/user', undefined, anonKey, token);
      expect([401, 403], JSON.stringify(userAnswer.body)).toContain(userAnswer.status);
    }
  });
});

describeEachDatabase('protobuf frames an attacker sends', (database) => {
  let server: RunningServer;
  let wsUrl: string;
  beforeAll(async () => {
    server = await startServer({
      env: { ...TEST_ENV },
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      logger: createLogger('silent'),
      database: database(),
      services: { identity: true, gateway: true },
    });
    wsUrl = `${server.url.replace(/^http/, 'ws')}/connection/websocket`;
  });
  afterAll(async () => {
    await server?.close();
  });

  const closeCodeFor = async (frame: Buffer): Promise<number> => {
    const ws = new WebSocket(wsUrl, 'centrifuge-protobuf');
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(frame);
    return closed;
  };

  it('closes with 3501 on deep groups, huge lengths and overlong varints, and keeps serving', async () => {
    const frames = [
      // A length prefix far past the frame.
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a]),
      // A Command whose length is fine but whose field 1 is a group nested 200 000 deep.
      Buffer.concat([Buffer.from([0xc0, 0x9a, 0x0c]), Buffer.alloc(200_000, 0x0b)]),
      // Nested groups without a length prefix at all.
      Buffer.alloc(500_000, 0x0b),
      // 65 000 empty commands in one frame.
      Buffer.alloc(65_000, 0x00),
      // More than the message size limit.
      Buffer.alloc(70_000, 0x0a),
      // A varint of 20 continuation bytes.
      Buffer.concat([Buffer.from([0x05, 0x08]), Buffer.alloc(20, 0xff), Buffer.from([0x01])]),
    ];
    for (const frame of frames) {
      const started = Date.now();
      expect([3501, 1009], `frame of ${frame.length} bytes starting ${frame.subarray(0, 4).toString('hex')}`).toContain(await closeCodeFor(frame));
      expect(Date.now() - started).toBeLessThan(5000);
    }
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});

describeEachDatabase('tokens signed with the real key but wrong claims', (database) => {
  let server: RunningServer;
  let anonKey: string;
  let wsUrl: string;
  const clients: Centrifuge[] = [];
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'attack-test-key', alg: 'ES256', use: 'sig' };
  const signed = (claims: Record<string, unknown>): string => {
    const input = `${b64({ alg: 'ES256', typ: 'JWT', kid: 'attack-test-key' })}.${b64(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };

  beforeAll(async () => {
    server = await startServer({
      env: { ...TEST_ENV, LATCHKEY_JWT_KEYS: JSON.stringify([jwk]) },
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      logger: createLogger('silent'),
      database: database(),
      services: { identity: true, gateway: true },
    });
    anonKey = server.services.identity!.apiKeys.anonKey;
    wsUrl = `${server.url.replace(/^http/, 'ws')}/connection/websocket`;
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.close();
  });

  const get = async (path: string, token: string): Promise<number> => (await fetch(`${server.url}/auth/v1${path}`, { headers: { apikey: anonKey, authorization: `Bearer ${token}` } })).status;
  const socketState = async (token: string): Promise<'connected' | 'disconnected'> => {
    const client = officialClient(wsUrl, { token });
    clients.push(client);
    const state = new Promise<'connected' | 'disconnected'>((resolve) => {
      client.once('connected', () => resolve('connected'));
      client.once('disconnected', () => resolve('disconnected'));
      client.once('error', () => resolve('disconnected'));
    });
    client.connect();
    const result = await state;
    client.disconnect();
    return result;
  };

  it('accepts the claims as issued, and refuses a wrong or missing iss, aud or exp, and an expired token', async () => {
    const email = `claims-${randomUUID()}@example.com`;
    const signUp = await fetch(`${server.url}/auth/v1/signup`, { method: 'POST', headers: { apikey: anonKey, 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
    const body = (await signUp.json()) as { access_token: string };
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    // The re-signed originals work: the key is the server's.
    expect(await get('/user', signed(claims))).toBe(200);
    expect(await socketState(signed(claims))).toBe('connected');
    const now = Math.floor(Date.now() / 1000);
    const { iss: _iss, ...noIss } = claims;
    const { aud: _aud, ...noAud } = claims;
    const { exp: _exp, ...noExp } = claims;
    const bad: Record<string, Record<string, unknown>> = {
      'wrong iss': { ...claims, iss: 'https://evil.example.com/auth/v1' },
      'wrong aud': { ...claims, aud: 'somebody-else' },
      'no iss': noIss,
      'no aud': noAud,
      'no exp': noExp,
      expired: { ...claims, iat: now - 7200, exp: now - 3600 },
    };
    // The gateway checks iss, aud and exp of the identity service's tokens.
    for (const [name, forged] of Object.entries(bad)) expect(await socketState(signed(forged)), `${name} on the socket`).toBe('disconnected');
    // The identity service checks its own tokens as GoTrue does (any iss and aud), but never takes an expired one.
    const expired = { iat: now - 7200, exp: now - 3600 };
    expect(await get('/user', signed({ ...claims, ...expired }))).toBe(403);
    const admin = { role: 'service_role', iss: 'admin-script' };
    expect(await get('/admin/users', signed({ ...admin, iat: now, exp: now + 600 }))).toBe(200);
    expect(await get('/admin/users', signed({ ...admin, ...expired }))).toBe(403);
  });
});

describeEachDatabase('alg confusion with a legacy HS256 secret configured', (database) => {
  let server: RunningServer;
  let anonKey: string;
  let wsUrl: string;
  const clients: Centrifuge[] = [];
  const secret = 'legacy-secret-with-at-least-thirty-two-characters';
  const hs256 = (claims: Record<string, unknown>, key: string | Buffer, kid?: string): string => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT', ...(kid === undefined ? {} : { kid }) })}.${b64(claims)}`;
    return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
  };

  beforeAll(async () => {
    server = await startServer({
      env: { ...TEST_ENV, LATCHKEY_JWT_SECRET: secret },
      config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
      logger: createLogger('silent'),
      database: database(),
      services: { identity: true, gateway: true },
    });
    anonKey = server.services.identity!.apiKeys.anonKey;
    wsUrl = `${server.url.replace(/^http/, 'ws')}/connection/websocket`;
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.close();
  });

  const get = async (token: string): Promise<number> => (await fetch(`${server.url}/auth/v1/user`, { headers: { apikey: anonKey, authorization: `Bearer ${token}` } })).status;
  const socketState = async (token: string): Promise<'connected' | 'disconnected'> => {
    const client = officialClient(wsUrl, { token });
    clients.push(client);
    const state = new Promise<'connected' | 'disconnected'>((resolve) => {
      client.once('connected', () => resolve('connected'));
      client.once('disconnected', () => resolve('disconnected'));
    });
    client.connect();
    const result = await state;
    client.disconnect();
    return result;
  };

  it('accepts HS256 with the secret only; HS256 keyed with the public key, PEM or JWK, is refused', async () => {
    const email = `legacy-${randomUUID()}@example.com`;
    const signUp = await fetch(`${server.url}/auth/v1/signup`, { method: 'POST', headers: { apikey: anonKey, 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
    const body = (await signUp.json()) as { access_token: string };
    const [header, payload] = body.access_token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { kid } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: string };
    // The legacy secret is honoured, by the identity service and the gateway.
    expect(await get(hs256(claims, secret))).toBe(200);
    expect(await socketState(hs256(claims, secret))).toBe('connected');
    const jwks = (await (await fetch(`${server.url}/auth/v1/.well-known/jwks.json`)).json()) as { keys: (Record<string, unknown> & { kid?: string })[] };
    const published = jwks.keys.filter((key) => key.kty !== 'oct');
    expect(published.length).toBeGreaterThan(0);
    for (const jwk of published) {
      const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
      for (const key of [pem, JSON.stringify(jwk), Buffer.from(JSON.stringify(jwk))]) {
        for (const asKid of [undefined, kid, jwk.kid]) {
          const forged = hs256(claims, key, asKid);
          expect([401, 403]).toContain(await get(forged));
          expect(await socketState(forged)).toBe('disconnected');
        }
      }
    }
  });
});
