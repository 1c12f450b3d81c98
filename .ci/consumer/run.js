#!/usr/bin/env node
// Consumer test: the four packages as a user gets them. Packs them, installs the tarballs into a new
// project in the system's temporary folder (outside the workspace), and there:
//   (a) imports @latchkey/verify and @latchkey/client from Node ESM and require()s them from CommonJS,
//       and verifies a token issued by a running server;
//   (b) type-checks a TypeScript consumer (strict, exactOptionalPropertyTypes) against the shipped .d.ts;
//   (c) runs `npx latchkey serve --example` to a healthy /health, and `npx latchkey --version`; the example
//       notes API (installed from its tarball too) answers the verified token;
//   (d) bundles the browser entry of @latchkey/client with esbuild for the browser (no Node built-in may
//       be pulled in) and reports its size, minified and gzipped, with and without centrifuge.
// Prints one PASS or FAIL line at the end; exits non-zero on failure. Keeps the project with KEEP=1.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROWSER_BUDGET_BYTES, describeBundle, measureBrowserBundle } from '../../bench/client/bundle-size.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./app/', import.meta.url));
const requireFromRoot = createRequire(path.join(ROOT, 'package.json'));
const PACKAGES = ['@latchkey/verify', '@latchkey/client', '@latchkey/server', 'latchkey'];
/** The example app: private (never published), installed from its tarball for `latchkey serve --example`. */
const EXAMPLE = '@latchkey/example-notes-api';

const started = Date.now();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-consumer-'));
const app = path.join(work, 'app');
const children = new Set();

/**
 * The environment of the consumer project: nothing of the workspace (its bins, npm's script variables)
 * and no server setting of the caller (its database, Redis, keys): the server here is self-contained.
 */
function consumerEnv(extra = {}) {
  const inherited = /^(npm_|LATCHKEY_|GOTRUE_|API_EXTERNAL_URL$|DATABASE_URL$|REDIS_URL$|PORT$|HOST$)/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !inherited.test(key)));
  env.PATH = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => !dir.startsWith(ROOT)).join(path.delimiter);
  return { ...env, ...extra };
}

function step(name) {
  process.stdout.write(`\n== ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

/** Runs a command to completion; rejects with its output when it exits non-zero. */
function run(command, args, { cwd = app, env = consumerEnv(), quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!quiet && stderr.trim()) process.stdout.write(stderr.replace(/^/gm, '   | '));
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}\n${stdout}${stderr}`));
    });
  });
}

function check(condition, message) {
  if (!condition) throw new Error(message);
  process.stdout.write(`   ok  ${message}\n`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForHealth(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`latchkey serve exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url}/health did not answer 200 within ${timeoutMs} ms`);
}

async function pack() {
  step('build and pack');
  await run('npm', ['run', '-s', 'build'], { cwd: ROOT, env: process.env });
  const tarballs = path.join(work, 'tarballs');
  fs.mkdirSync(tarballs);
  const packed = JSON.parse(await run('npm', ['pack', '--workspaces', '--json', '--pack-destination', tarballs], { cwd: ROOT, env: process.env, quiet: true }));
  for (const manifest of packed) {
    const files = manifest.files.map((file) => file.path);
    const shipped = manifest.name === EXAMPLE ? /^(dist\/|migrations\/|package\.json$|README\.md$|LICENSE$)/ : /^(dist\/|bin\/|package\.json$|README\.md$|LICENSE$)/;
    const stray = files.filter((file) => !shipped.test(file) || file.endsWith('.tsbuildinfo'));
    check(stray.length === 0 && files.includes('LICENSE') && files.includes('README.md'), `${manifest.name}: ${files.length} files (dist/, README.md, LICENSE${manifest.name === 'latchkey' ? ', bin/' : ''}), ${(manifest.size / 1024).toFixed(1)} KB packed${stray.length ? `; unexpected: ${stray.join(', ')}` : ''}`);
    if (manifest.name === '@latchkey/server') {
      const sources = fs.readdirSync(path.join(ROOT, 'packages/server/src/db/migrations')).filter((file) => file.endsWith('.sql'));
      check(sources.every((file) => files.includes(`dist/db/migrations/${file}`)), `@latchkey/server ships its ${sources.length} migrations`);
    }
  }
  return Object.fromEntries(packed.map((manifest) => [manifest.name, path.join(tarballs, manifest.filename)]));
}

async function install(tarballs) {
  step('install the tarballs into a new project');
  fs.mkdirSync(app);
  for (const file of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, file), path.join(app, file));
  const typesNode = requireFromRoot('@types/node/package.json').version;
  const dependencies = Object.fromEntries([...PACKAGES, EXAMPLE].map((name) => [name, `file:${tarballs[name]}`]));
  const manifest = { name: 'latchkey-consumer', private: true, type: 'module', dependencies: { ...dependencies, '@types/node': typesNode } };
  fs.writeFileSync(path.join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn']);
  const lock = JSON.parse(fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8'));
  const fromRegistry = Object.entries(lock.packages).filter(([where, entry]) => /node_modules\/(@latchkey\/[a-z-]+|latchkey)$/.test(where) && !String(entry.resolved).startsWith('file:'));
  check(fromRegistry.length === 0, 'every @latchkey package and latchkey come from the tarballs');
  const installed = createRequire(path.join(app, 'package.json')).resolve('latchkey/package.json');
  check(installed.startsWith(app), `latchkey is installed in ${app}`);
}

async function serveAndVerify() {
  step('(c) npx latchkey serve --example, (a) ESM and CommonJS consumers verify its token');
  const version = (await run('npx', ['--no-install', 'latchkey', '--version'])).trim();
  check(version === '0.1.0', `npx latchkey --version prints ${JSON.stringify(version)}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = consumerEnv({ PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: 'memory://', LATCHKEY_DATA_DIR: path.join(work, 'data'), LOG_LEVEL: 'warn' });
  const server = spawn('npx', ['--no-install', 'latchkey', 'serve', '--example'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(server);
  let output = '';
  server.stdout.on('data', (chunk) => (output += chunk));
  server.stderr.on('data', (chunk) => (output += chunk));
  try {
    const t0 = Date.now();
    await waitForHealth(url, server, 60_000).catch((error) => {
      throw new Error(`${error.message}\n${output}`);
    });
    check(true, `GET ${url}/health answered 200 after ${Date.now() - t0} ms`);
    const token = (await run('node', ['esm.mjs', url])).trim();
    check(token.split('.').length === 3, 'ESM: signed up and logged in with @latchkey/client; @latchkey/verify verified the access token against the JWKS');
    const subject = (await run('node', ['cjs.cjs', url, token])).trim();
    check(/^[0-9a-f-]{36}$/.test(subject), `CommonJS: require() of @latchkey/verify and @latchkey/client; the token verified (sub ${subject})`);
    const notes = await fetch(`${url}/api/v1/notes`, { headers: { authorization: `Bearer ${token}` } });
    const listed = await notes.json();
    check(notes.status === 200 && Array.isArray(listed.notes), `the example notes API (from its tarball) answers the token: GET /api/v1/notes ${notes.status}`);
    const anonymous = await fetch(`${url}/api/v1/notes`);
    check(anonymous.status === 401 && /^Bearer /.test(anonymous.headers.get('www-authenticate') ?? ''), `without a token: ${anonymous.status} with WWW-Authenticate`);
  } finally {
    await stop(server);
  }
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => {
      children.delete(child);
      resolve();
    });
    process.kill(-child.pid, 'SIGTERM');
  });
}

async function typeCheck() {
  step('(b) type-check a strict TypeScript consumer against the shipped declarations');
  const tsc = requireFromRoot.resolve('typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', 'tsconfig.json']);
  check(true, 'tsc: strict, exactOptionalPropertyTypes, skipLibCheck false, NodeNext: no errors');
}

async function bundle() {
  step('(d) browser bundle of @latchkey/client (esbuild, platform browser)');
  const variants = await measureBrowserBundle(app);
  for (const [label, variant] of Object.entries(variants)) {
    process.stdout.write(`   ${describeBundle(label, variant)}\n`);
    check(variant.builtins.length === 0, `${label}: no Node built-in in the bundle${variant.builtins.length ? ` (${variant.builtins.join(', ')})` : ''}`);
  }
  const own = variants['without centrifuge'].gzipped;
  check(own <= BROWSER_BUDGET_BYTES, `without centrifuge ${(own / 1024).toFixed(1)} KB min+gz, budget ${BROWSER_BUDGET_BYTES / 1024} KB`);
}

let failure = null;
try {
  const tarballs = await pack();
  await install(tarballs);
  await serveAndVerify();
  await typeCheck();
  await bundle();
} catch (error) {
  failure = error;
} finally {
  for (const child of children) if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  if (process.env.KEEP === '1') process.stdout.write(`\nkept ${work}\n`);
  else fs.rmSync(work, { recursive: true, force: true });
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (failure) {
  process.stdout.write(`\n${failure.stack ?? failure}\n\nconsumer test: FAIL (${seconds} s)\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`\nconsumer test: PASS (${seconds} s)\n`);
}
