import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, BearerError, createVerifier, type Verifier } from '../src/index.js';
import { expressBearer } from '../src/express.js';
import { bearerHook, fastifyBearer } from '../src/fastify.js';
import { honoBearer, type BearerEnv } from '../src/hono.js';
import { AUDIENCE, ISSUER, mint, nowSeconds, signingKey, type SigningKey } from './support.js';

let key: SigningKey;
let verifier: Verifier;
let unreachable: Verifier;
let good: string;
let expired: string;
let admin: string;

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/jwks.json`;
}

beforeAll(async () => {
  key = await signingKey('ES256', 'k1');
  verifier = createVerifier({ keys: [key.publicJwk], issuer: ISSUER, audience: AUDIENCE });
  unreachable = createVerifier({ jwksUrl: await closedPortUrl(), issuer: ISSUER, audience: AUDIENCE, jwks: { timeout: 1_000 } });
  good = await mint(key, { role: 'authenticated', scope: 'notes:read' });
  admin = await mint(key, { role: 'service_role', scope: 'notes:read admin' });
  expired = await mint(key, { iat: nowSeconds() - 120, exp: nowSeconds() - 1 });
});

interface Case {
  readonly name: string;
  readonly path: string;
  readonly authorization?: () => string;
  readonly status: number;
  readonly error?: string;
  readonly code?: string;
  readonly challenge?: RegExp;
  readonly retryAfter?: boolean;
}

const CASES: readonly Case[] = [
  { name: 'valid token', path: '/me', authorization: () => `Bearer ${good}`, status: 200 },
  { name: 'scheme is case-insensitive', path: '/me', authorization: () => `bearer ${good}`, status: 200 },
  { name: 'extra spaces around the token', path: '/me', authorization: () => `BEARER   ${good}  `, status: 200 },
  { name: 'no credentials', path: '/me', status: 401, error: 'unauthorized', code: 'ERR_CREDENTIALS_MISSING', challenge: /^Bearer realm="api"$/ },
  { name: 'other scheme', path: '/me', authorization: () => 'Basic dXNlcjpwYXNz', status: 401, code: 'ERR_CREDENTIALS_MISSING', challenge: /^Bearer realm="api"$/ },
  { name: 'Bearer without a token', path: '/me', authorization: () => 'Bearer', status: 400, error: 'invalid_request', code: 'ERR_AUTHORIZATION_MALFORMED', challenge: /error="invalid_request"/ },
  { name: 'token with spaces', path: '/me', authorization: () => `Bearer ${good} extra`, status: 400, error: 'invalid_request', challenge: /error="invalid_request"/ },
  { name: 'token with invalid characters', path: '/me', authorization: () => 'Bearer a"b', status: 400, error: 'invalid_request' },
  { name: 'garbage token', path: '/me', authorization: () => 'Bearer abc.def', status: 401, error: 'invalid_token', code: 'ERR_TOKEN_MALFORMED', challenge: /error="invalid_token", error_description="token is malformed"/ },
  { name: 'expired token', path: '/me', authorization: () => `Bearer ${expired}`, status: 401, error: 'invalid_token', code: 'ERR_TOKEN_EXPIRED', challenge: /^Bearer realm="api", error="invalid_token", error_description="token expired"$/ },
  { name: 'tampered token', path: '/me', authorization: () => `Bearer ${good.slice(0, -4)}AAAA`, status: 401, code: 'ERR_SIGNATURE_INVALID' },
  { name: 'missing scope', path: '/admin', authorization: () => `Bearer ${good}`, status: 403, error: 'insufficient_scope', code: 'ERR_INSUFFICIENT_SCOPE', challenge: /error="insufficient_scope".*scope="admin"/ },
  { name: 'scope present', path: '/admin', authorization: () => `Bearer ${admin}`, status: 200 },
  { name: 'key set unreachable', path: '/down', authorization: () => `Bearer ${good}`, status: 503, error: 'temporarily_unavailable', code: 'ERR_JWKS_UNAVAILABLE', retryAfter: true },
];

async function runCases(baseUrl: string): Promise<void> {
  for (const item of CASES) {
    const headers: Record<string, string> = {};
    if (item.authorization) headers.authorization = item.authorization();
    const response = await fetch(`${baseUrl}${item.path}`, { headers });
    const text = await response.text();
    expect({ name: item.name, status: response.status }).toEqual({ name: item.name, status: item.status });
    const body = JSON.parse(text) as Record<string, unknown>;
    if (item.status === 200) {
      expect(body.sub).toBe('user-1');
      continue;
    }
    expect(text).not.toContain(good.split('.')[2]);
    if (item.error) expect({ name: item.name, error: body.error }).toEqual({ name: item.name, error: item.error });
    if (item.code) expect({ name: item.name, code: body.code }).toEqual({ name: item.name, code: item.code });
    expect(typeof body.error_description).toBe('string');
    if (item.challenge) expect(response.headers.get('www-authenticate') ?? '').toMatch(item.challenge);
    if (item.retryAfter) expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  }
}

describe('authenticate()', () => {
  it('reads Node header records and Fetch Headers alike', async () => {
    expect((await authenticate({ authorization: `Bearer ${good}` }, { verifier })).sub).toBe('user-1');
    expect((await authenticate(new Headers({ Authorization: `Bearer ${good}` }), { verifier })).sub).toBe('user-1');
    const twice = await authenticate({ authorization: [`Bearer ${good}`, `Bearer ${good}`] }, { verifier }).catch((error: unknown) => error as BearerError);
    expect(twice).toBeInstanceOf(BearerError);
    expect(twice.status).toBe(400);
    const role = await authenticate({ authorization: `Bearer ${good}` }, { verifier, roles: ['service_role'] }).catch((error: unknown) => error as BearerError);
    expect(role).toMatchObject({ status: 403, error: 'insufficient_scope' });
  });

  it('passes errors of a revocation hook through unchanged', async () => {
    const failing = createVerifier({ keys: [key.publicJwk], issuer: ISSUER, audience: AUDIENCE, revocation: () => Promise.reject(new Error('deny-list down')) });
    await expect(authenticate({ authorization: `Bearer ${good}` }, { verifier: failing })).rejects.toThrow('deny-list down');
  });
});

function fastifyApp(): FastifyInstance {
  const app = Fastify();
  app.get('/public', async () => ({ open: true }));
  void app.register(async (scope) => {
    await scope.register(fastifyBearer, { verifier });
    scope.get('/me', async (request) => request.claims);
  });
  void app.register(async (scope) => {
    await scope.register(fastifyBearer, { verifier, scopes: ['admin'] });
    scope.get('/admin', async (request) => request.claims);
  });
  app.get('/down', { onRequest: bearerHook({ verifier: unreachable }) }, async (request) => request.claims);
  return app;
}

describe('Fastify adapter', () => {
  it('answers per RFC 6750 through inject', async () => {
    const app = fastifyApp();
    const open = await app.inject({ url: '/public' });
    expect(open.statusCode).toBe(200);
    const missing = await app.inject({ url: '/me' });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
    const ok = await app.inject({ url: '/me', headers: { authorization: `Bearer ${good}` } });
    expect(ok.json()).toMatchObject({ sub: 'user-1', role: 'authenticated' });
    const bad = await app.inject({ url: '/me', headers: { authorization: `Bearer ${expired}` } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toEqual({ error: 'invalid_token', error_description: 'token expired', code: 'ERR_TOKEN_EXPIRED' });
    await app.close();
  });

  it('answers per RFC 6750 over a real socket', async () => {
    const app = fastifyApp();
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await runCases(url);
    } finally {
      await app.close();
    }
  });

  it('rejects a missing verifier at registration', () => {
    expect(() => bearerHook({} as never)).toThrow(/verifier/);
  });
});

describe('Express adapter', () => {
  it('answers per RFC 6750 over a real socket', async () => {
    const app = express();
    app.get('/me', expressBearer({ verifier }), (req, res) => {
      res.json(req.claims);
    });
    app.get('/admin', expressBearer({ verifier, scopes: ['admin'] }), (_req, res) => {
      res.json(res.locals.claims);
    });
    app.get('/down', expressBearer({ verifier: unreachable }), (req, res) => {
      res.json(req.claims);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const { port } = server.address() as AddressInfo;
    try {
      await runCases(`http://127.0.0.1:${port}`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('Hono adapter', () => {
  function honoApp(): Hono<BearerEnv> {
    const app = new Hono<BearerEnv>();
    app.get('/me', honoBearer({ verifier }), (c) => c.json(c.get('claims')));
    app.get('/admin', honoBearer({ verifier, scopes: ['admin'] }), (c) => c.json(c.get('claims')));
    app.get('/down', honoBearer({ verifier: unreachable }), (c) => c.json(c.get('claims')));
    return app;
  }

  it('answers per RFC 6750 through app.request', async () => {
    const response = await honoApp().request('/me', { headers: { authorization: `Bearer ${expired}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('answers per RFC 6750 over a real socket', async () => {
    const app = honoApp();
    const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ server: started, port: info.port }));
    });
    try {
      await runCases(`http://127.0.0.1:${port}`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
