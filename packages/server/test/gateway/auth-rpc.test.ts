import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Centrifuge } from 'centrifuge';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger, loadServerConfig, startServer, type Database, type RunningServer } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import type { GatewayExports } from '../../src/gateway/index.js';
import { TEST_ENV } from '../identity/support.js';
import { officialClient, once } from './support.js';

const PASSWORD = 'correct-horse-battery-1';

interface Started {
  readonly server: RunningServer;
  readonly wsUrl: string;
  readonly logs: string[];
  post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
}

async function start(database: Database, env: Record<string, string> = {}): Promise<Started> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const server = await startServer({
    env: { ...TEST_ENV, LATCHKEY_LOGIN_ACCOUNT_FAILURES: '2', LATCHKEY_LOGIN_DELAY: '30', ...env },
    config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'debug' }),
    logger: createLogger('debug', sink),
    database,
    services: { identity: true, gateway: true },
  });
  const anonKey = server.services.identity!.apiKeys.anonKey;
  server.services.gateway!.registerRpc('whoami', (_data, context) => ({ user: context.user }));
  return {
    server,
    logs,
    wsUrl: `${server.url.replace(/^http/, 'ws')}/connection/websocket`,
    async post(path, body) {
      const response = await fetch(`${server.url}/auth/v1${path}`, { method: 'POST', headers: { apikey: anonKey, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
  };
}

/** Connects the official client without a token (the restricted state). */
async function restricted(url: string): Promise<Centrifuge> {
  const client = officialClient(url);
  client.connect();
  await once(client, 'connected');
  return client;
}

/** The error an RPC call rejects with. */
async function rpcError(client: Centrifuge, method: string, data: unknown): Promise<{ code: number; message: string }> {
  try {
    await client.rpc(method, data);
  } catch (error) {
    return error as { code: number; message: string };
  }
  throw new Error(`${method} succeeded`);
}

describeEachDatabase('sign-in over the socket', (database) => {
  let app: Started;
  beforeAll(async () => {
    app = await start(database());
  });
  afterAll(async () => {
    await app?.server.close();
  });

  const newAccount = async (): Promise<string> => {
    const email = `socket-${randomUUID()}@example.com`;
    expect((await app.post('/signup', { email, password: PASSWORD })).status).toBe(200);
    return email;
  };

  it('auth.login answers the token endpoint JSON; the token then opens a full connection', async () => {
    const email = await newAccount();
    const client = await restricted(app.wsUrl);
    let session: Record<string, unknown>;
    try {
      session = (await client.rpc('auth.login', { email, password: PASSWORD })).data as Record<string, unknown>;
    } finally {
      client.disconnect();
    }
    const http = (await app.post('/token?grant_type=password', { email, password: PASSWORD })).body;
    expect(Object.keys(session).sort()).toEqual(Object.keys(http).sort());
    expect(session).toMatchObject({ token_type: 'bearer', expires_in: 3600, user: { email } });
    const user = (session.user as { id: string }).id;

    const full = officialClient(app.wsUrl, { token: session.access_token as string });
    try {
      full.connect();
      await once(full, 'connected');
      expect((await full.rpc('whoami', {})).data).toEqual({ user });
    } finally {
      full.disconnect();
    }

    // auth.refresh is the refresh_token grant: a new pair, the old refresh token used up.
    const again = await restricted(app.wsUrl);
    try {
      const refreshed = (await again.rpc('auth.refresh', { refresh_token: session.refresh_token })).data as Record<string, unknown>;
      expect(Object.keys(refreshed).sort()).toEqual(Object.keys(http).sort());
      expect(refreshed.refresh_token).not.toBe(session.refresh_token);
      expect(await rpcError(again, 'auth.refresh', { refresh_token: 'not-a-token' })).toMatchObject({ code: 400, message: 'refresh_token_not_found' });
    } finally {
      again.disconnect();
    }
    // Nothing secret reached the logs.
    const logged = app.logs.join('');
    for (const secret of [PASSWORD, session.access_token as string, session.refresh_token as string]) expect(logged).not.toContain(secret);
  });

  it('refuses everything but auth.* with 103, and a wrong password like HTTP', async () => {
    const email = await newAccount();
    const client = await restricted(app.wsUrl);
    try {
      expect(await rpcError(client, 'whoami', {})).toMatchObject({ code: 103 });
      expect(await rpcError(client, 'authx', {})).toMatchObject({ code: 103 });
      await expect(client.publish('chat:lobby', { hi: 1 })).rejects.toMatchObject({ code: 103 });
      await expect(client.presence('chat:lobby')).rejects.toMatchObject({ code: 103 });
      const sub = client.newSubscription(`user:#${randomUUID()}`);
      const unsubscribed = once<{ code: number }>(sub, 'unsubscribed');
      sub.subscribe();
      expect((await unsubscribed).code).toBe(103);
      expect(await rpcError(client, 'auth.login', { email, password: 'wrong-password' })).toMatchObject({ code: 400, message: 'invalid_credentials' });
      expect(await rpcError(client, 'auth.login', 'not an object')).toMatchObject({ code: 107 });
      expect(await rpcError(client, 'auth.unknown', {})).toMatchObject({ code: 103 });
    } finally {
      client.disconnect();
    }
  });

  it('a restricted connection cannot upgrade itself in place: a later connect or refresh with a token, mixed commands', async () => {
    const email = await newAccount();
    const { access_token: token } = (await app.post('/token?grant_type=password', { email, password: PASSWORD })).body as { access_token: string };
    const raw = async (frames: unknown[][]): Promise<{ replies: Record<string, unknown>[]; closed: number }> => {
      const socket = new WebSocket(app.wsUrl);
      const replies: Record<string, unknown>[] = [];
      socket.on('message', (data: Buffer) => {
        for (const line of data.toString('utf8').split('\n')) if (line !== '') replies.push(JSON.parse(line) as Record<string, unknown>);
      });
      let closedCode: number | null = null;
      const closed = new Promise<number>((resolve) =>
        socket.once('close', (code: number) => {
          closedCode = code;
          resolve(code);
        }),
      );
      await new Promise((resolve) => socket.once('open', resolve));
      for (const frame of frames) {
        socket.send(frame.map((command) => JSON.stringify(command)).join('\n'));
        // Next frame once every command of this one is answered or the socket closed (a slow password
        // hash on a loaded machine must not turn into a missing reply).
        const ids = frame.map((command) => (command as { id: number }).id);
        const deadline = Date.now() + 20_000;
        while (closedCode === null && !ids.every((id) => replies.some((reply) => reply.id === id)) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      if (socket.readyState === WebSocket.OPEN) socket.close();
      return { replies, closed: await closed };
    };
    // A second connect, now with a token, closes the socket (3501) rather than lifting the restriction.
    const second = await raw([[{ id: 1, connect: {} }], [{ id: 2, connect: { token } }], [{ id: 3, rpc: { method: 'whoami', data: {} } }]]);
    expect(second.closed).toBe(3501);
    expect(second.replies.some((reply) => reply.id === 3)).toBe(false);
    // refresh, subscribe and an RPC riding in the same frame as auth.login are all 103.
    const mixed = await raw([
      [{ id: 1, connect: {} }],
      [
        { id: 2, refresh: { token } },
        { id: 3, rpc: { method: 'auth.login', data: { email, password: 'wrong' } } },
        { id: 4, subscribe: { channel: 'chat:lobby' } },
        { id: 5, rpc: { method: 'whoami', data: {} } },
      ],
      [{ id: 6, rpc: { method: 'whoami', data: {} } }],
    ]);
    const codeOf = (id: number) => (mixed.replies.find((reply) => reply.id === id)?.error as { code?: number } | undefined)?.code;
    expect([codeOf(2), codeOf(4), codeOf(5), codeOf(6)]).toEqual([103, 103, 103, 103]);
    expect(codeOf(3)).toBe(400);
  });

  it('an application method named auth.* is not reachable without a token', async () => {
    // A method that only shares the prefix (here an application's own) must not open to token-less callers.
    const calls: string[] = [];
    const gateway = app.server.services.gateway!;
    gateway.registerRpc('auth.admin.deleteUser', (_data, context) => {
      calls.push(context.user);
      return { deleted: true };
    });
    const client = await restricted(app.wsUrl);
    try {
      for (const method of ['auth.admin.deleteUser', 'auth.', 'auth.login ', 'AUTH.LOGIN', 'auth.login/../admin']) {
        expect(await rpcError(client, method, {})).toMatchObject({ code: 103 });
      }
    } finally {
      client.disconnect();
    }
    expect(calls).toEqual([]);
  });

  it('counts against the login throttle shared with HTTP', async () => {
    const email = await newAccount();
    const client = await restricted(app.wsUrl);
    try {
      expect(await rpcError(client, 'auth.login', { email, password: 'wrong-1' })).toMatchObject({ code: 400 });
      expect(await rpcError(client, 'auth.login', { email, password: 'wrong-2' })).toMatchObject({ code: 400 });
      // The account now waits for this address, even with the right password, over the socket and over HTTP.
      expect(await rpcError(client, 'auth.login', { email, password: PASSWORD })).toMatchObject({ code: 111, message: 'over_request_rate_limit', temporary: true });
    } finally {
      client.disconnect();
    }
    expect((await app.post('/token?grant_type=password', { email, password: PASSWORD })).status).toBe(429);
  });

  it('auth.otp sends a code and auth.verify exchanges it for a session', async () => {
    const email = await newAccount();
    const client = await restricted(app.wsUrl);
    try {
      expect((await client.rpc('auth.otp', { email })).data).toEqual({});
      // The OTP mail limit of HTTP holds over the socket too (one mail per address per 60 s).
      expect(await rpcError(client, 'auth.otp', { email })).toMatchObject({ code: 111, message: 'over_email_send_rate_limit' });
      const code = await mailedCode(app, email);
      expect(await rpcError(client, 'auth.verify', { email, token: '000000', type: 'email' })).toMatchObject({ code: 403, message: 'otp_expired' });
      const session = (await client.rpc('auth.verify', { email, token: code, type: 'email' })).data as { access_token: string; user: { email: string } };
      expect(session.user.email).toBe(email);
      expect(typeof session.access_token).toBe('string');
      const logged = app.logs.join('');
      // Six-digit codes as JSON strings (bare digits could match inside a timestamp).
      for (const secret of [`"${code}"`, session.access_token]) expect(logged).not.toContain(secret);
    } finally {
      client.disconnect();
    }
  });
});

describeEachDatabase('sign-in over the socket with a second factor', (database) => {
  let app: Started;
  beforeAll(async () => {
    app = await start(database());
  });
  afterAll(async () => {
    await app?.server.close();
  });

  const codeAt = (secret: string, offsetSteps: number) => authenticator.clone({ epoch: Date.now() + offsetSteps * 30_000 }).generate(secret);

  it('auth.login with totp answers the aal2 session; a wrong code is refused', async () => {
    const email = `socket-mfa-${randomUUID()}@example.com`;
    const session = (await app.post('/signup', { email, password: PASSWORD })).body as { access_token: string };
    const bearer = async (path: string, body: unknown) => {
      const response = await fetch(`${app.server.url}/auth/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${session.access_token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return (await response.json()) as Record<string, unknown>;
    };
    const factor = (await bearer('/factors', { factor_type: 'totp', friendly_name: 'phone' })) as { id: string; totp: { secret: string } };
    const challenge = (await bearer(`/factors/${factor.id}/challenge`, {})) as { id: string };
    // An earlier step enrolls the factor, leaving the current step's code unused.
    expect(await bearer(`/factors/${factor.id}/verify`, { challenge_id: challenge.id, code: codeAt(factor.totp.secret, -1) })).toHaveProperty('access_token');

    const client = await restricted(app.wsUrl);
    try {
      expect(await rpcError(client, 'auth.login', { email, password: PASSWORD, totp: codeAt(factor.totp.secret, 5) })).toMatchObject({ code: 422, message: 'mfa_verification_failed' });
      const result = (await client.rpc('auth.login', { email, password: PASSWORD, totp: codeAt(factor.totp.secret, 0) })).data as { access_token: string };
      const logged = app.logs.join('');
      for (const secret of [`"${codeAt(factor.totp.secret, 0)}"`, result.access_token, PASSWORD]) expect(logged).not.toContain(secret);
      const claims = JSON.parse(Buffer.from(result.access_token.split('.')[1]!, 'base64url').toString('utf8')) as { aal: string; amr: { method: string }[] };
      expect(claims.aal).toBe('aal2');
      expect(claims.amr.map((entry) => entry.method)).toContain('totp');
    } finally {
      client.disconnect();
    }
  });
});

/** The official client on a socket whose upgrade request claims another client address. */
function spoofingClient(url: string, forwardedFor: string): Centrifuge {
  class Spoofing extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: { 'x-forwarded-for': forwardedFor, 'x-real-ip': forwardedFor } });
    }
  }
  return officialClient(url, { websocket: Spoofing });
}

describeEachDatabase('sign-in over the socket without a trusted proxy', (database) => {
  let app: Started;
  beforeAll(async () => {
    app = await start(database(), { LATCHKEY_LOGIN_ACCOUNT_FAILURES: '0', LATCHKEY_LOGIN_ADDRESS_FAILURES: '2' });
  });
  afterAll(async () => {
    await app?.server.close();
  });

  it('a forwarding header on the upgrade request does not move the socket to another address bucket', async () => {
    const email = `socket-spoof-${randomUUID()}@example.com`;
    expect((await app.post('/signup', { email, password: PASSWORD })).status).toBe(200);
    for (const [index, forged] of ['203.0.113.1', '203.0.113.2'].entries()) {
      const client = spoofingClient(app.wsUrl, forged);
      client.connect();
      await once(client, 'connected');
      try {
        expect(await rpcError(client, 'auth.login', { email, password: `wrong-${index}` })).toMatchObject({ code: 400 });
      } finally {
        client.disconnect();
      }
    }
    // Both failures counted for the socket's real address: a third forged address still waits.
    const client = spoofingClient(app.wsUrl, '203.0.113.3');
    client.connect();
    await once(client, 'connected');
    try {
      expect(await rpcError(client, 'auth.login', { email, password: PASSWORD })).toMatchObject({ code: 111, message: 'over_request_rate_limit' });
    } finally {
      client.disconnect();
    }
  });
});

/** The six-digit code of the newest mail to `email` in the development outbox. */
async function mailedCode(app: Started, email: string): Promise<string> {
  const serviceRoleKey = app.server.services.identity!.apiKeys.serviceRoleKey;
  const deadline = Date.now() + 5000;
  for (;;) {
    const answer = await fetch(`${app.server.url}/auth/v1/admin/outbox?email=${encodeURIComponent(email)}`, { headers: { authorization: `Bearer ${serviceRoleKey}` } });
    const { messages } = (await answer.json()) as { messages: { text: string }[] };
    const code = messages.map((message) => /code: (\d{6})/.exec(message.text)?.[1]).find((found) => found !== undefined);
    if (code) return code;
    if (Date.now() > deadline) throw new Error(`no mail to ${email}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describeEachDatabase('restricted connections: lifetime, limit and switch', (database) => {
  let short: Started;
  let off: Started;
  let capped: Started;
  beforeAll(async () => {
    short = await start(database(), { LATCHKEY_GATEWAY_AUTH_RPC_LIFETIME: '1' });
    off = await start(database(), { LATCHKEY_GATEWAY_AUTH_RPC: 'false' });
    capped = await start(database(), { LATCHKEY_GATEWAY_AUTH_RPC_MAX_CONNECTIONS: '2' });
  });
  afterAll(async () => {
    await short?.server.close();
    await off?.server.close();
    await capped?.server.close();
  });

  it('holds at most LATCHKEY_GATEWAY_AUTH_RPC_MAX_CONNECTIONS connections without a token (3504 beyond); a closed one frees its place', async () => {
    const first = await restricted(capped.wsUrl);
    const second = await restricted(capped.wsUrl);
    const third = officialClient(capped.wsUrl);
    try {
      const refused = once<{ code: number; reason: string }>(third, 'disconnected');
      third.connect();
      expect(await refused).toEqual({ code: 3504, reason: 'connection limit' });
      // Connections with a token are not counted against the limit.
      const email = `socket-cap-${randomUUID()}@example.com`;
      expect((await capped.post('/signup', { email, password: PASSWORD })).status).toBe(200);
      const session = (await first.rpc('auth.login', { email, password: PASSWORD })).data as { access_token: string };
      const full = officialClient(capped.wsUrl, { token: session.access_token });
      try {
        full.connect();
        await once(full, 'connected');
      } finally {
        full.disconnect();
      }
      first.disconnect();
      const deadline = Date.now() + 10_000;
      for (;;) {
        const again = officialClient(capped.wsUrl);
        const outcome = new Promise<string>((resolve) => {
          again.once('connected', () => resolve('connected'));
          again.once('disconnected', () => resolve('refused'));
        });
        again.connect();
        const result = await outcome;
        again.disconnect();
        if (result === 'connected') break;
        if (Date.now() > deadline) throw new Error('the closed connection never gave its place back');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      first.disconnect();
      second.disconnect();
      third.disconnect();
    }
  });

  it('closes a connection without a token at the end of its lifetime, terminally (4502)', async () => {
    const client = officialClient(short.wsUrl);
    const disconnected = once<{ code: number; reason: string }>(client, 'disconnected', 15_000);
    client.connect();
    await once(client, 'connected');
    expect(await disconnected).toEqual({ code: 4502, reason: 'authentication timeout' });
    expect(client.state).toBe('disconnected');
  });

  it('with LATCHKEY_GATEWAY_AUTH_RPC off, a connect without a token is refused (3501)', async () => {
    const client = officialClient(off.wsUrl);
    const disconnected = once<{ code: number }>(client, 'disconnected');
    client.connect();
    expect((await disconnected).code).toBe(3501);
  });
});
