import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page, type Request } from 'playwright-core';

/** Debian's Chromium; `.ci/run` installs the `chromium` package when it is missing. */
export const CHROMIUM_PATH = process.env.LATCHKEY_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep a headless Chromium off the network and free of first-run work. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
];

/** A running Chromium with its own throw-away profile; `close()` ends the browser and removes the profile. */
export interface TestBrowser {
  readonly browser: BrowserContext;
  /** A new page in the browser's one context (pages share storage, like tabs of one profile). */
  newPage(): Promise<Page>;
  /** A second, isolated context (another user's browser: its own storage and cookies). */
  newIsolatedContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Extra Chromium flags. */
  readonly args?: readonly string[];
  /** Options of the default context (viewport, locale…). */
  readonly context?: BrowserContextOptions;
}

/** Whether Chromium is installed where the tests look for it. */
export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Launches Debian's Chromium headless with a fresh `--user-data-dir` (a persistent context, so tabs
 * share localStorage, Web Locks and BroadcastChannel as in a real profile). Also opens a plain
 * browser on demand for isolated contexts. Nothing reaches the network but what a test navigates to.
 */
export async function launchBrowser(options: LaunchOptions = {}): Promise<TestBrowser> {
  if (!chromiumAvailable()) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install the chromium package`);
  const profile = mkdtempSync(path.join(tmpdir(), 'latchkey-chromium-'));
  const args = [...CHROMIUM_FLAGS, ...(options.args ?? [])];
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args,
      ignoreDefaultArgs: ['--enable-automation'],
      ...options.context,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  let plain: Browser | undefined;
  return {
    browser: context,
    newPage: () => context.newPage(),
    async newIsolatedContext(contextOptions = {}) {
      // Playwright gives a launched browser its own fresh temporary profile.
      plain ??= await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args, ignoreDefaultArgs: ['--enable-automation'] });
      return plain.newContext(contextOptions);
    },
    async close() {
      await context.close().catch(() => undefined);
      await plain?.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Records every request the context's pages make whose origin is not `allowed` (`ws:` counts as the
 * `http:` origin of the same host and port). Returns the live list.
 */
export function recordForeignRequests(context: BrowserContext, allowed: string): string[] {
  const origin = new URL(allowed).origin;
  const foreign: string[] = [];
  const check = (url: string) => {
    if (url.startsWith('data:') || url.startsWith('blob:') || url === 'about:blank') return;
    const parsed = new URL(url);
    const asHttp = parsed.protocol === 'ws:' ? 'http:' : parsed.protocol === 'wss:' ? 'https:' : parsed.protocol;
    if (`${asHttp}//${parsed.host}` !== origin) foreign.push(url);
  };
  context.on('request', (request: Request) => check(request.url()));
  context.on('page', (page) => page.on('websocket', (socket) => check(socket.url())));
  for (const page of context.pages()) page.on('websocket', (socket) => check(socket.url()));
  return foreign;
}

/**
 * Routes that serve one test page on the server's own origin (pass to `startServer`'s `extend`): an HTML
 * shell at `path` that loads `entry` (a TypeScript module, bundled for Chromium with esbuild) from `${path}.js`.
 */
export async function bundledPage(name: string, path: string, entry: URL): Promise<(app: FastifyInstance) => void> {
  const bundle = await build({
    entryPoints: [fileURLToPath(entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)),
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.text;
  return (app) => {
    app.get(path, async (_request, reply) => reply.type('text/html').send(`<!doctype html><title>${name}</title><script type="module" src="${path}.js"></script>`));
    app.get(`${path}.js`, async (_request, reply) => reply.type('text/javascript').send(script));
  };
}
