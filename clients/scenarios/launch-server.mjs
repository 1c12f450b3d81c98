#!/usr/bin/env node
// Starts a throw-away `latchkey serve` for the client test suites (TypeScript, Python, Go) and prints one
// JSON line on stdout:
//   {"url", "ws_url", "anon_key", "service_role_key", "gateway_api_key"}
// The server runs the compiled command (packages/cli/bin/latchkey.js serve --example: the example notes
// API answers at /api/v1) on a free port with an in-memory database, a gateway API key (for POST
// /api/publish) and an RPC proxy that echoes every call: method `echo` answers {"method", "user", "data"}.
// Tokens live `--jwt-expiry SECONDS` (default 3600); a connection that outlives its token without
// refreshing is closed 3 s after expiry.
// The server stops, and its data folder is removed, when stdin closes or on SIGTERM/SIGINT.
//
// Usage: node clients/scenarios/launch-server.mjs [--jwt-expiry 4]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../packages/cli/bin/latchkey.js', import.meta.url));

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : process.argv[at + 1];
}

const jwtExpiry = option('--jwt-expiry', '3600');
if (!/^\d+$/.test(jwtExpiry)) {
  process.stderr.write('--jwt-expiry must be a whole number of seconds\n');
  process.exit(2);
}

/** The gateway's RPC proxy (Centrifugo's HTTP format): echoes method, user and data. */
const rpc = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    let call = {};
    try {
      call = JSON.parse(body);
    } catch {
      // answered below as an error
    }
    response.setHeader('content-type', 'application/json');
    if (call.method !== 'echo') {
      response.end(JSON.stringify({ error: { code: 404, message: 'unknown method' } }));
      return;
    }
    response.end(JSON.stringify({ result: { data: { method: call.method, user: call.user, data: call.data ?? null } } }));
  });
});
await new Promise((resolve) => rpc.listen(0, '127.0.0.1', resolve));
const rpcUrl = `http://127.0.0.1:${rpc.address().port}/rpc`;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-clients-'));
const gatewayApiKey = randomBytes(18).toString('hex');
const child = spawn(process.execPath, [CLI, 'serve', '--example'], {
  env: {
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: 'memory://',
    REDIS_URL: '',
    LATCHKEY_DATA_DIR: dataDir,
    LATCHKEY_JWT_EXPIRY: jwtExpiry,
    LATCHKEY_GATEWAY_API_KEY: gatewayApiKey,
    LATCHKEY_GATEWAY_RPC_PROXY_URL: rpcUrl,
    // A connection that outlives its token without `refresh` is closed 3 s after expiry (not 25 s), so a
    // client that fails to refresh in-band is caught within a short test.
    LATCHKEY_GATEWAY_EXPIRED_CLOSE_DELAY: '3',
    // The suites sign in and refresh far more often than a person; the clients' own single flight is
    // what keeps a refresh token from being spent twice.
    LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0',
    LATCHKEY_RATE_LIMIT_SIGNUP: '0',
    LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '0',
    LOG_LEVEL: 'warn',
    NO_COLOR: '1',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});

let stopped = false;
function stop(code = 0) {
  if (stopped) return;
  stopped = true;
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 5000);
  force.unref();
  child.once('exit', () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    rpc.close();
    process.exit(code);
  });
  if (child.exitCode !== null || child.signalCode !== null) child.emit('exit');
}
process.on('SIGTERM', () => stop());
process.on('SIGINT', () => stop());
process.stdin.on('end', () => stop());
process.stdin.on('error', () => stop());
process.stdin.resume();

let output = '';
let ready = false;
const timer = setTimeout(() => {
  process.stderr.write(`latchkey serve did not start within 60 s:\n${output}\n`);
  stop(1);
}, 60_000);
child.on('exit', (code) => {
  if (!stopped) {
    process.stderr.write(`latchkey serve exited (${code}):\n${output}\n`);
    stopped = true;
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(1);
  }
});
const onData = (chunk) => {
  output += chunk.toString('utf8');
  const url = /health\s+(http:\/\/\S+)\/health/.exec(output)?.[1];
  const anon = /anon key\s+(\S+)/.exec(output)?.[1];
  const service = /service_role key\s+(\S+)/.exec(output)?.[1];
  if (ready || !url || !anon || !service) return;
  ready = true;
  clearTimeout(timer);
  process.stdout.write(
    `${JSON.stringify({
      url,
      ws_url: `${url.replace(/^http/, 'ws')}/connection/websocket`,
      anon_key: anon,
      service_role_key: service,
      gateway_api_key: gatewayApiKey,
    })}\n`,
  );
};
child.stdout.on('data', onData);
child.stderr.on('data', onData);
