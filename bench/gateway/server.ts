/**
 * Benchmark server process. `gateway`: Latchkey with only the gateway mounted, tokens verified against
 * an ES256 JWKS it serves itself. `raw`: a bare `ws` server that broadcasts to sockets that sent `sub`
 * (the baseline). Driven over IPC by run.ts; never listens beyond 127.0.0.1.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session as Inspector } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { WebSocket, WebSocketServer } from 'ws';
import { loadServerConfig, startServer } from '@latchkey/server';
import type { GatewayExports } from '../../packages/server/src/gateway/index.js';
import { encodePublication } from '../../packages/server/src/gateway/node.js';

export const CHANNEL = 'org:bench';
const API_KEY = 'bench-api-key-0123456789abcdef';

type Request = { type: 'cpu' } | { type: 'profile'; phase: string | null } | { type: 'measure' } | { type: 'publish'; count: number; payload: unknown; paced?: boolean } | { type: 'stop' };

/** Waits for the next turn of the event loop (after pending I/O callbacks and immediates). */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const mode = process.argv[2] === 'raw' ? 'raw' : 'gateway';
const send = (message: unknown) => process.send?.(message);
const gc = (globalThis as { gc?: () => void }).gc;

/** CPU time this process has used (all threads), in seconds. */
function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}
process.on('message', (request: Request) => {
  if (request.type === 'cpu') send({ type: 'cpu', seconds: cpuSeconds() });
  else if (request.type === 'profile') void profile(request.phase).then(() => send({ type: 'profiled' }));
});

/** With `BENCH_PROFILE_DIR`: a CPU profile per phase of the run, written as `<mode>-<phase>.cpuprofile`. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
let inspector: Inspector | undefined;
let profiling: string | null = null;
async function profile(phase: string | null): Promise<void> {
  if (!PROFILE_DIR) return;
  if (!inspector) {
    inspector = new Inspector();
    inspector.connect();
    await inspector.post('Profiler.enable');
  }
  if (profiling !== null) {
    const { profile: taken } = await inspector.post('Profiler.stop');
    writeFileSync(`${PROFILE_DIR}/${mode}-${profiling}.cpuprofile`, JSON.stringify(taken));
  }
  profiling = phase;
  if (phase !== null) await inspector.post('Profiler.start');
}

async function measure(connections: () => number): Promise<void> {
  for (let i = 0; i < 3; i += 1) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const memory = process.memoryUsage();
  send({ type: 'memory', rss: memory.rss, heapUsed: memory.heapUsed, external: memory.external, connections: connections() });
}

if (mode === 'gateway') {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
  const jwksServer = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const server = await startServer({
    env: {
      LATCHKEY_GATEWAY_API_KEY: API_KEY,
      LATCHKEY_GATEWAY_TOKEN_JWKS_URL: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`,
      // Issuer and audience set: tokens go through @latchkey/verify, as identity-service tokens do.
      LATCHKEY_GATEWAY_TOKEN_ISSUER: 'bench',
      LATCHKEY_GATEWAY_TOKEN_AUDIENCE: 'bench',
    },
    config: loadServerConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
    services: { gateway: true },
  });
  const gateway = server.services.gateway!;
  process.on('message', async (request: Request) => {
    if (request.type === 'measure') {
      const info = await (await fetch(`${server.url}/api/info`, { method: 'POST', headers: { 'x-api-key': API_KEY }, body: '{}' })).json() as { result: { nodes: { num_clients: number }[] } };
      await measure(() => info.result.nodes[0]?.num_clients ?? 0);
    } else if (request.type === 'publish') {
      const started = process.hrtime.bigint();
      const pending: Promise<void>[] = [];
      for (let i = 0; i < request.count; i += 1) {
        pending.push(gateway.publish(CHANNEL, request.payload));
        if (request.paced) await nextTurn();
      }
      await Promise.all(pending);
      send({ type: 'published', ms: Number(process.hrtime.bigint() - started) / 1e6 });
    } else if (request.type === 'stop') {
      await server.close();
      jwksServer.close();
      process.exit(0);
    }
  });
  send({ type: 'ready', url: `${server.url.replace(/^http/, 'ws')}/connection/websocket`, privateJwk: { ...(await exportJWK(privateKey)), kid: 'bench', alg: 'ES256' } });
} else {
  const http = createServer((_request, response) => response.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false });
  const all = new Set<WebSocket>();
  const subscribers = new Set<WebSocket>();
  http.on('upgrade', (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => {
      all.add(ws);
      ws.on('message', (data: Buffer) => {
        if (data.toString() === 'sub') subscribers.add(ws);
      });
      ws.on('close', () => {
        all.delete(ws);
        subscribers.delete(ws);
      });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  process.on('message', async (request: Request) => {
    if (request.type === 'measure') await measure(() => all.size);
    else if (request.type === 'publish') {
      const started = process.hrtime.bigint();
      for (let i = 0; i < request.count; i += 1) {
        // The same bytes the gateway sends, encoded once per message, written to each socket.
        const frame = encodePublication(CHANNEL, JSON.stringify(request.payload));
        for (const ws of subscribers) ws.send(frame, { binary: false });
        if (request.paced) await nextTurn();
      }
      send({ type: 'published', ms: Number(process.hrtime.bigint() - started) / 1e6 });
    } else if (request.type === 'stop') {
      for (const ws of all) ws.terminate();
      http.close();
      process.exit(0);
    }
  });
  send({ type: 'ready', url: `ws://127.0.0.1:${port}/`, privateJwk: null });
}
