// Plain Node ESM consumer: signs up on a running server with @latchkey/client and verifies the access
// token with @latchkey/verify. Usage: node esm.mjs <base URL>; prints the access token.
import { authenticate, createVerifier } from '@latchkey/verify';
import * as fastifyAdapter from '@latchkey/verify/fastify';
import * as webhooks from '@latchkey/verify/webhooks';
import { LatchkeyApi, MemoryTokenStore } from '@latchkey/client';
import { FileTokenStore } from '@latchkey/client/node';
import { startServer } from '@latchkey/server';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const [baseUrl] = process.argv.slice(2);
assert.ok(baseUrl, 'usage: esm.mjs <base URL>');
for (const [name, value] of Object.entries({ authenticate, FileTokenStore, startServer })) {
  assert.equal(typeof value, 'function', `${name} is exported`);
}
assert.ok(Object.keys(fastifyAdapter).length > 0 && Object.keys(webhooks).length > 0, 'subpath exports load');
// Every entry point of every package loads (adapters must not need their framework at import time).
const require = createRequire(import.meta.url);
for (const name of ['@latchkey/verify', '@latchkey/client', '@latchkey/server', 'latchkey']) {
  for (const subpath of Object.keys(require(`${name}/package.json`).exports)) {
    if (subpath === './package.json') continue;
    const module = await import(name + subpath.slice(1));
    assert.ok(Object.keys(module).length > 0, `${name + subpath.slice(1)} exports something`);
  }
}

const api = new LatchkeyApi(baseUrl, { store: new MemoryTokenStore() });
const email = `consumer-${Date.now()}@example.com`;
const { user, tokens } = await api.auth.signUp({ email, password: 'a consumer password 42' });
assert.ok(tokens, 'sign-up answers a session (autoconfirm)');
const session = await api.auth.login({ email, password: 'a consumer password 42' });

const verifier = createVerifier({
  jwksUrl: `${baseUrl}/auth/v1/.well-known/jwks.json`,
  issuer: `${baseUrl}/auth/v1`,
  audience: 'authenticated',
});
const claims = await verifier.verify(session.tokens.accessToken);
assert.equal(claims.sub, user?.id, 'the verified token names the signed-up user');
process.stdout.write(`${session.tokens.accessToken}\n`);
