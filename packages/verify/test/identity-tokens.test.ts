// Tokens issued by Latchkey's identity service, verified through the identity service's JWKS by every
// adapter over real HTTP requests — as an app team's own API behind Latchkey would.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig, openPgliteDatabase, startServer, type Database, type RunningServer } from '@latchkey/server';
import { authenticate, BearerError, createVerifier, type Claims, type Verifier } from '../src/index.js';
import { expressBearer } from '../src/express.js';
import { fastifyBearer } from '../src/fastify.js';
import { honoBearer, type BearerEnv } from '../src/hono.js';

let database: Database;
let identityServer: RunningServer;
let verifier: Verifier;
let accessToken: string;
let userId: string;
const servers: { name: string; url: string; close: () => Promise<void> }[] = [];

function listening(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  database = await openPgliteDatabase(null);
  identityServer = await startServer({
    env: { LATCHKEY_RATE_LIMIT_SIGNUP: '0', LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0' },
    config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
    database,
    services: { identity: true },
  });
  const identity = identityServer.services.identity!;
  const signup = await fetch(`${identityServer.url}/auth/v1/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', apikey: identity.apiKeys.anonKey },
    body: JSON.stringify({ email: 'adapter-user@example.com', password: 'correct horse battery' }),
  });
  const session = (await signup.json()) as { access_token: string; user: { id: string } };
  accessToken = session.access_token;
  userId = session.user.id;
  verifier = createVerifier({ jwksUrl: identity.jwksUrl(), issuer: identity.issuer(), audience: 'authenticated' });

  const fastify = Fastify();
  await fastify.register(async (scope) => {
    await scope.register(fastifyBearer, { verifier });
    scope.get('/me', async (request) => ({ sub: request.claims?.sub }));
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  servers.push({ name: 'fastify', url: listening(fastify.server), close: () => fastify.close() });

  const app = express();
  app.get('/me', expressBearer({ verifier }), (request, response) => {
    response.json({ sub: (request as unknown as { claims: Claims }).claims.sub });
  });
  const expressServer = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => expressServer.once('listening', resolve));
  servers.push({ name: 'express', url: listening(expressServer), close: () => new Promise((resolve) => expressServer.close(() => resolve())) });

  const hono = new Hono<BearerEnv>();
  hono.get('/me', honoBearer({ verifier }), (c) => c.json({ sub: c.get('claims').sub }));
  const honoServer = await new Promise<Server>((resolve) => {
    const server = serve({ fetch: hono.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server as Server));
  });
  servers.push({ name: 'hono', url: listening(honoServer), close: () => new Promise((resolve) => honoServer.close(() => resolve())) });

  const { createServer } = await import('node:http');
  const plain = createServer((request, response) => {
    authenticate(request.headers, { verifier }).then(
      (claims) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: claims.sub })),
      (error: unknown) => {
        const failure = error as BearerError;
        response.writeHead(failure.status, { ...failure.headers, 'content-type': 'application/json' }).end(JSON.stringify(failure.body));
      },
    );
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  servers.push({ name: 'plain node:http', url: listening(plain), close: () => new Promise((resolve) => plain.close(() => resolve())) });
});

afterAll(async () => {
  for (const server of servers) await server.close();
  await identityServer?.close();
  await database?.close();
});

describe('identity-service tokens through every adapter', () => {
  it.each(['fastify', 'express', 'hono', 'plain node:http'])('%s accepts the access token and refuses a tampered one', async (name) => {
    const server = servers.find((s) => s.name === name)!;
    const ok = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ sub: userId });

    const tampered = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${accessToken.slice(0, -6)}AAAAAA` } });
    expect(tampered.status).toBe(401);
    expect(tampered.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    const body = await tampered.text();
    expect(body).not.toContain(accessToken.slice(0, 40));

    const none = await fetch(`${server.url}/me`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
  });

  it('fetched the JWKS once for all adapters', () => {
    expect(verifier.jwks?.fetches).toBe(1);
  });
});
