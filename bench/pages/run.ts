/**
 * First load of the demo app (`/`) and the admin console (`/admin`) in headless Chromium on loopback:
 * bytes transferred (gzipped bodies plus headers, as the network layer counts them) and time to
 * interactive (navigation start → first view drawn with its handlers attached). Each load is cold: a new
 * browser context with an empty cache. Peer: the same start-up job written on `@supabase/supabase-js`
 * (bench/pages/peer-page.ts), bundled and served the same way in the same run.
 *
 * `npm run bench:pages` (7 loads per page); `-- --quick` for 3. Needs `npm run build` first.
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { loadServerConfig, startServer } from '@latchkey/server';
import { launchBrowser } from '../../test-support/browser.js';
import { notesApi } from '@latchkey/example-notes-api';
import { contentSecurityPolicy } from '../../packages/server/src/console/security-headers.js';

const RUNS = process.argv.includes('--quick') ? 3 : 7;
const GOAL_BYTES = 100 * 1024;
const GOAL_MS = 300;

async function peerBundle(): Promise<Buffer> {
  const result = await build({
    entryPoints: [new URL('./peer-page.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox111', 'safari16'],
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  return gzipSync(Buffer.from(result.outputFiles[0]!.contents), { level: 9 });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function main(): Promise<void> {
  const peer = await peerBundle();
  const server = await startServer({
    config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
    env: {},
    adminSocket: false,
    services: { identity: true, organizations: true, gateway: true, console: true },
    extensions: [notesApi()],
    extend: (app) => {
      app.get('/peer', async (request, reply) => {
        const anonKey = (await app.inject({ method: 'GET', url: '/' })).body.match(/name="latchkey-anon-key" content="([^"]*)"/)?.[1] ?? '';
        return reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', contentSecurityPolicy(request))
          .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="latchkey-anon-key" content="${anonKey}"><title>peer</title><link rel="icon" href="data:,"><script type="module" src="/peer.js"></script></head><body><main id="view"></main></body></html>`);
      });
      app.get('/peer.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').header('content-encoding', 'gzip').send(peer));
    },
  });
  const browser = await launchBrowser();
  const results: Record<string, { bytes: number[]; ms: number[] }> = {};
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const path of ['/', '/admin', '/peer']) {
        const context = await browser.newIsolatedContext();
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        await cdp.send('Network.enable');
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
        let bytes = 0;
        cdp.on('Network.loadingFinished', (event) => {
          bytes += event.encodedDataLength;
        });
        await page.goto(`${server.url}${path}`);
        await page.waitForSelector('body[data-ready="true"]');
        await page.waitForLoadState('networkidle').catch(() => undefined);
        const ms = Number(await page.evaluate(() => document.body.dataset.readyAt));
        await context.close();
        if (run === 0) continue; // warm-up: the server's first answers, the browser's first start
        const entry = (results[path] ??= { bytes: [], ms: [] });
        entry.bytes.push(bytes);
        entry.ms.push(ms);
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const peerBytes = median(results['/peer']!.bytes);
  const peerMs = median(results['/peer']!.ms);
  console.log(`first load, cold cache, headless Chromium on loopback; medians of ${RUNS - 1} loads (first load is a warm-up)`);
  for (const [path, label] of [['/', 'demo app'], ['/admin', 'admin console']] as const) {
    const { bytes, ms } = results[path]!;
    const b = median(bytes);
    const t = median(ms);
    console.log(
      `${label.padEnd(14)} ${kb(b).padStart(9)} (${(b / peerBytes).toFixed(2)}× peer, goal ${kb(GOAL_BYTES)}: ${b <= GOAL_BYTES ? 'met' : 'MISSED'})` +
        `  interactive ${String(t).padStart(4)} ms (${(t / peerMs).toFixed(2)}× peer, goal ${GOAL_MS} ms: ${t <= GOAL_MS ? 'met' : 'MISSED'})` +
        `  range ${Math.min(...ms)}–${Math.max(...ms)} ms`,
    );
  }
  console.log(`${'peer (supabase-js)'.padEnd(14)} ${kb(peerBytes).padStart(9)}  interactive ${String(peerMs).padStart(4)} ms`);
}

await main();
