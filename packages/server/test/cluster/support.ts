import { randomUUID } from 'node:crypto';
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
  const identity = server.services.identity!;
  return { server, url: server.url, anonKey: identity.apiKeys.anonKey, identity, close: () => server.close() };
}

/** Environment of one deployment on the test Redis: a prefix no other run uses. */
export function deploymentEnv(): Record<string, string> {
  return { REDIS_URL: process.env.REDIS_URL ?? '', LATCHKEY_REDIS_PREFIX: `test-${randomUUID()}` };
}

export { startRelay, type Relay } from '../../../../test-support/relay.js';
