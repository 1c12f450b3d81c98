/**
 * Benchmark server (child process): the same Fastify handler on `/open` (no authentication),
 * `/auth` (bearer, verified-token cache on) and `/auth-uncached` (cache off). Prints its port.
 */
import Fastify from 'fastify';
import { createVerifier } from '../../packages/verify/src/index.js';
import { fastifyBearer } from '../../packages/verify/src/fastify.js';
import { AUDIENCE, ISSUER } from './fixtures.js';

const jwk = JSON.parse(process.env.BENCH_JWK ?? '{}') as Record<string, unknown>;
const cached = createVerifier({ keys: [jwk], issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'], cache: true });
const uncached = createVerifier({ keys: [jwk], issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] });
const app = Fastify({ logger: false });
const handler = async () => ({ items: [{ id: 1, title: 'first' }, { id: 2, title: 'second' }] });
app.get('/open', handler);
// The cost of Fastify's hook dispatch alone, for reading the authenticated rows.
app.get('/open-noop-hook', { onRequest: (_request, _reply, done) => done() }, handler);
await app.register(async (scope) => {
  await scope.register(fastifyBearer, { verifier: cached });
  scope.get('/auth', handler);
});
await app.register(async (scope) => {
  await scope.register(fastifyBearer, { verifier: uncached });
  scope.get('/auth-uncached', handler);
});
// What the plugin's scope costs without verifying: the same decorator and a hook that sets a fixed value.
const fixedClaims = Object.freeze({ sub: 'fixed' });
await app.register(async (scope) => {
  if (!scope.hasRequestDecorator('claims')) scope.decorateRequest('claims', null);
  scope.addHook('onRequest', (request, _reply, done) => {
    (request as unknown as { claims: unknown }).claims = fixedClaims;
    done();
  });
  scope.get('/scope-fixed', handler);
});
app.get('/cpu', async () => process.cpuUsage());
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${new URL(address).port}\n`);
// Stop with the benchmark even if it dies without killing us.
process.on('disconnect', () => process.exit(0));
