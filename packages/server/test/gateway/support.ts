import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Centrifuge, type Options } from 'centrifuge';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { WebSocket } from 'ws';
import { loadServerConfig, startServer, type Database, type GatewayExports, type RunningServer } from '@latchkey/server';

/** A JWKS endpoint the tests control: serves a fresh ES256 key, can be switched off. */
export interface KeyServer {
  readonly url: string;
  /** When false, the endpoint answers 503. */
  up: boolean;
  requests: number;
  mint(claims: JWTPayload, options?: { expiresIn?: number | null; key?: 'good' | 'foreign' }): Promise<string>;
  close(): Promise<void>;
}

export async function startKeyServer(): Promise<KeyServer> {
  const good = await generateKeyPair('ES256', { extractable: true });
  const foreign = await generateKeyPair('ES256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(good.publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const state = { up: true, requests: 0 };
  const server: Server = createServer((request, response) => {
    state.requests += 1;
    if (!state.up) {
      response.writeHead(503).end('down');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const sign = (claims: JWTPayload, key: CryptoKey, expiresIn: number | null) => {
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'test-key' }).setIssuedAt();
    if (expiresIn !== null) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn);
    return jwt.sign(key);
  };
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get up() {
      return state.up;
    },
    set up(value: boolean) {
      state.up = value;
    },
    get requests() {
      return state.requests;
    },
    set requests(value: number) {
      state.requests = value;
    },
    mint: (claims, options = {}) => sign(claims, options.key === 'foreign' ? foreign.privateKey : good.privateKey, options.expiresIn === undefined ? 3600 : options.expiresIn),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export const API_KEY = 'test-gateway-api-key-0123456789';

/** A running server with the gateway alone. */
export interface GatewayServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly wsUrl: string;
  readonly gateway: GatewayExports;
  /** POST /api/<method> with the API key. */
  api(method: string, body: unknown, key?: string | null): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startGateway(database: Database, env: Record<string, string>): Promise<GatewayServer> {
  const fullEnv = { LATCHKEY_GATEWAY_API_KEY: API_KEY, ...env };
  const server = await startServer({
    env: fullEnv,
    config: loadServerConfig({
      PORT: '0',
      DATABASE_URL: 'memory://',
      LOG_LEVEL: 'silent',
      ...(env.REDIS_URL ? { REDIS_URL: env.REDIS_URL } : {}),
      ...(env.LATCHKEY_REDIS_PREFIX ? { LATCHKEY_REDIS_PREFIX: env.LATCHKEY_REDIS_PREFIX } : {}),
    }),
    database,
    services: { gateway: true },
  });
  const gateway = server.services.gateway!;
  return {
    server,
    url: server.url,
    wsUrl: `${server.url.replace(/^http/, 'ws')}/connection/websocket`,
    gateway,
    async api(method, body, key = API_KEY) {
      const response = await fetch(`${server.url}/api/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key !== null ? { 'x-api-key': key } : {}) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json().catch(() => null) };
    },
    close: () => server.close(),
  };
}

/** The official client, configured for Node and quick reconnects. */
export function officialClient(url: string, options: Partial<Options> = {}): Centrifuge {
  return new Centrifuge(url, { websocket: WebSocket, minReconnectDelay: 50, maxReconnectDelay: 300, ...options });
}

/** Resolves with the first event `name` emitted by `emitter` (rejects after `ms`). */
export function once<T = unknown>(emitter: { once(event: string, listener: (value: T) => void): unknown }, name: string, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within ${ms} ms`)), ms);
    emitter.once(name, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** A raw `ws` client speaking the JSON protocol by hand, for protocol-level checks. */
export interface RawClient {
  readonly ws: WebSocket;
  /** Replies and pushes received so far, parsed. */
  readonly received: Record<string, unknown>[];
  send(...commands: object[]): void;
  sendText(text: string): void;
  /** Waits for the reply with `id`. */
  reply(id: number, ms?: number): Promise<Record<string, unknown>>;
  /** Waits for a message matching `predicate`. */
  next(predicate: (message: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** Opens a raw client; with `autoPong` (default) it answers server pings like the official client. */
export async function rawClient(url: string, options: { autoPong?: boolean } = {}): Promise<RawClient> {
  const ws = new WebSocket(url);
  const received: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    const text = data.toString('utf8');
    if (text === '{}' && options.autoPong !== false) ws.send('{}');
    for (const line of text.split('\n')) received.push(JSON.parse(line) as Record<string, unknown>);
    for (const waiter of waiters) waiter();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = (predicate: (message: Record<string, unknown>) => boolean, ms = 5000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = received.find(predicate);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching message within ${ms} ms; got ${JSON.stringify(received)}`));
      }, ms);
      waiters.add(check);
      check();
    });
  return {
    ws,
    received,
    send: (...commands) => ws.send(commands.map((command) => JSON.stringify(command)).join('\n')),
    sendText: (text) => ws.send(text),
    reply: (id, ms) => next((message) => message.id === id, ms),
    next,
    closed,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
