// Plain Node ESM consumer: signs up on a running server with @latchkey/client and verifies the access
// token with @latchkey/verify. Usage: node esm.mjs <base URL>; prints the access token.
import { authenticate, createVerifier } from '@latchkey/verify';
import * as fastifyAdapter from '@latchkey/verify/fastify';
import * as webhooks from '@latchkey/verify/webhooks';
import { LatchkeyApi, MemoryTokenStore } from '@latchkey/client';
import { FileTokenStore } from '@latchkey/client/node';
import { startServer } from '@latchkey/server';
import assert from 'node:assert/strict';

const [baseUrl] = process.argv.slice(2);
assert.ok(baseUrl, 'usage: esm.mjs <base URL>');
for (const [name, value] of Object.entries({ authenticate, FileTokenStore, startServer })) {
  assert.equal(typeof value, 'function', `${name} is exported`);
}
assert.ok(Object.keys(fastifyAdapter).length > 0 && Object.keys(webhooks).length > 0, 'subpath exports load');

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
