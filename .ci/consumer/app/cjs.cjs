// CommonJS consumer: require() of the ES-module packages (Node >= 20.19, no flag), then verifies the
// token given on the command line. Usage: node cjs.cjs <base URL> <access token>.
const assert = require('node:assert/strict');
const { createVerifier } = require('@latchkey/verify');
const { LatchkeyApi, TokenSet } = require('@latchkey/client');
const { FileTokenStore } = require('@latchkey/client/node');
const webhooks = require('@latchkey/verify/webhooks');

const [baseUrl, token] = process.argv.slice(2);
assert.ok(baseUrl && token, 'usage: cjs.cjs <base URL> <access token>');
assert.equal(typeof LatchkeyApi, 'function');
assert.equal(typeof TokenSet, 'function');
assert.equal(typeof FileTokenStore, 'function');
assert.ok(Object.keys(webhooks).length > 0);
for (const name of ['@latchkey/verify', '@latchkey/client']) {
  for (const subpath of Object.keys(require(`${name}/package.json`).exports)) {
    if (subpath !== './package.json') assert.ok(Object.keys(require(name + subpath.slice(1))).length > 0);
  }
}

const verifier = createVerifier({
  jwksUrl: `${baseUrl}/auth/v1/.well-known/jwks.json`,
  issuer: `${baseUrl}/auth/v1`,
  audience: 'authenticated',
});
verifier.verify(token).then((claims) => {
  assert.equal(claims.aud, 'authenticated');
  process.stdout.write(`${claims.sub}\n`);
});
