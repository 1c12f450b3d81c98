/**
 * Cost of the input guard against `JSON.parse` alone, for a typical small body and a 1 MiB body:
 * the text scan before parsing, the check of the parsed value, and both (what a JSON request pays);
 * then a whole request through Fastify with and without the guard.
 * `node --import tsx bench/input/run.ts`
 */
import Fastify from 'fastify';
import { createInputSafety, DEFAULT_MAX_JSON_DEPTH, findUnsafeValue, scanJsonText } from '../../packages/server/src/input/index.js';

const small = JSON.stringify({ email: 'someone@example.com', password: 'correct horse battery staple', data: { name: 'Zoë 😀', plan: 'pro' }, gotrue_meta_security: { captcha_token: null } });
const rows = Array.from({ length: 6000 }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, title: `note ${i} — café ☕`, body: 'lorem ipsum dolor sit amet '.repeat(4), tags: ['a', 'b'], n: i * 1.5 }));
const largeValid = JSON.stringify({ data: rows.slice(0, Math.floor((rows.length * (1024 * 1024)) / JSON.stringify({ data: rows }).length) - 1) });

/** Nanoseconds per call: the best of 7 rounds of 200 ms (the machine is shared; the minimum is the least disturbed). */
function measure(label: string, text: string, run: (text: string) => unknown): number {
  for (let i = 0; i < 50; i++) run(text);
  let perOp = Infinity;
  for (let round = 0; round < 7; round++) {
    let iterations = 0;
    const start = performance.now();
    while (performance.now() - start < 200) {
      run(text);
      iterations += 1;
    }
    perOp = Math.min(perOp, ((performance.now() - start) * 1e6) / iterations);
  }
  console.log(`${label.padEnd(34)} ${(perOp / 1000).toFixed(2).padStart(10)} µs/op`);
  return perOp;
}

for (const [name, text] of [
  [`small (${small.length} B)`, small],
  [`large (${(largeValid.length / 1024).toFixed(0)} KiB)`, largeValid],
] as const) {
  console.log(name);
  const parse = measure('  JSON.parse', text, (t) => JSON.parse(t));
  const scan = measure('  scanJsonText', text, (t) => scanJsonText(t, DEFAULT_MAX_JSON_DEPTH));
  const walk = measure('  JSON.parse + findUnsafeValue', text, (t) => findUnsafeValue(JSON.parse(t), DEFAULT_MAX_JSON_DEPTH));
  const both = measure('  scan + parse + findUnsafeValue', text, (t) => {
    scanJsonText(t, DEFAULT_MAX_JSON_DEPTH);
    return findUnsafeValue(JSON.parse(t), DEFAULT_MAX_JSON_DEPTH);
  });
  console.log(`  scan ${((scan / parse) * 100).toFixed(0)}% of parse; walk ${(((walk - parse) / parse) * 100).toFixed(0)}%; guard total +${(((both - parse) / parse) * 100).toFixed(0)}%`);
}

/** A request through Fastify with and without the guard: a JSON POST to a route that echoes a field. */
async function perRequest(): Promise<void> {
  const build = (guarded: boolean) => {
    const input = createInputSafety();
    const app = Fastify(guarded ? { rewriteUrl: input.rewriteUrl } : {});
    if (guarded) input.register(app);
    app.post('/items/:id', async (request) => ({ id: (request.params as { id: string }).id, email: (request.body as { email: string }).email }));
    return app;
  };
  const request = { method: 'POST' as const, url: '/items/42?expand=1', headers: { 'content-type': 'application/json' }, payload: small };
  console.log(`request (${small.length} B JSON body, fastify inject)`);
  // CPU time of this process (less disturbed by other processes than wall time), best of 10
  // interleaved rounds of 1,000 requests each.
  const apps = [build(false), build(true)];
  for (const app of apps) {
    await app.ready();
    for (let i = 0; i < 1000; i++) await app.inject(request);
  }
  const best = [Infinity, Infinity];
  for (let round = 0; round < 10; round++) {
    for (const [index, app] of apps.entries()) {
      const start = process.cpuUsage();
      for (let i = 0; i < 1000; i++) await app.inject(request);
      const used = process.cpuUsage(start);
      best[index] = Math.min(best[index]!, (used.user + used.system) / 1000);
    }
  }
  for (const app of apps) await app.close();
  const [plain, guarded] = best as [number, number];
  console.log(`  without the guard ${plain.toFixed(1).padStart(8)} µs CPU/request`);
  console.log(`  with the guard    ${guarded.toFixed(1).padStart(8)} µs CPU/request`);
  console.log(`  guard adds ${(guarded - plain).toFixed(1)} µs (${(((guarded - plain) / plain) * 100).toFixed(1)}%)`);
}
await perRequest();
