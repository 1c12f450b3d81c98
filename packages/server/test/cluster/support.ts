import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { loadServerConfig, startServer, type IdentityExports, type RunningServer } from '@latchkey/server';
import { TEST_ENV } from '../identity/support.js';

/** A node as `latchkey serve` runs it: its own connection to the database, every service mounted. */
export interface Node {
  readonly server: RunningServer;
  readonly url: string;
  readonly anonKey: string;
  readonly identity: IdentityExports;
  close(): Promise<void>;
}

/** Starts a node on `databaseUrl` with `env` (REDIS_URL, prefix and whatever the test sets). */
export async function startNode(databaseUrl: string, env: Record<string, string> = {}): Promise<Node> {
  const all = { ...TEST_ENV, PORT: '0', DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', LATCHKEY_DATABASE_CONNECT_TIMEOUT: '2', ...env };
  const server = await startServer({ env: all, config: loadServerConfig(all), adminSocket: false });
  const identity = server.services.get('identity')!.exports as IdentityExports;
  return { server, url: server.url, anonKey: identity.apiKeys.anonKey, identity, close: () => server.close() };
}

/** Environment of one deployment on the test Redis: a prefix no other run uses. */
export function deploymentEnv(): Record<string, string> {
  return { REDIS_URL: process.env.REDIS_URL ?? '', LATCHKEY_REDIS_PREFIX: `test-${randomUUID()}` };
}

/** A TCP relay to `target` that can be cut (every connection dropped, new ones refused) and restored. */
export interface Relay {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a relay on an ephemeral port of 127.0.0.1 to `host:port`. */
export async function startRelay(host: string, port: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let listenPort = 0;
  const listen = async () => {
    const current = net.createServer((client) => {
      const upstream = net.connect(port, host);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => current.listen(listenPort, '127.0.0.1', resolve));
    listenPort = (current.address() as net.AddressInfo).port;
    server = current;
  };
  const cut = async () => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await listen();
  return { port: listenPort, cut, restore: listen, close: cut };
}
