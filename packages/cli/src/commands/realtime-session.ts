import net from 'node:net';
import { createNodeRealtimeClient } from '@latchkey/client/node';
import type { RealtimeClient } from '@latchkey/client';
import { CliError, ExitCode } from '../exit-codes.js';
import type { UserContext } from './user-context.js';

/** Realtime URL of the server: `ws(s)://<host>/connection/websocket`. */
export function realtimeUrl(baseUrl: string): string {
  const url = new URL('/connection/websocket', `${baseUrl}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** How long the first TCP connection to the server may take before the command gives up. */
const REACH_TIMEOUT_MS = 2000;

/**
 * Fails fast (exit 1, within 2 s) when nothing accepts TCP connections at the server's address, instead
 * of letting the realtime client retry with backoff until its timeout.
 */
export async function assertReachable(baseUrl: string, timeoutMs = REACH_TIMEOUT_MS): Promise<void> {
  const url = new URL(baseUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const failure = await new Promise<string | null>((resolve) => {
    const socket = net.connect({ host, port });
    const done = (reason: string | null) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done(null));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      done(error.code === 'ECONNREFUSED' ? 'connection refused' : error.code === 'ENOTFOUND' ? 'unknown host' : (error.code ?? error.message));
    });
  });
  if (failure !== null) throw new CliError(`cannot connect to ${realtimeUrl(baseUrl)}: ${failure}`, ExitCode.Failure);
}

/**
 * Opens the realtime connection and resolves once connected. A session that needs a new login rejects
 * with exit code 3; no connection within `timeoutMs` rejects with exit code 1.
 */
export function connectRealtime(context: UserContext, timeoutMs: number): { client: RealtimeClient; ready: Promise<void>; reauth: Promise<never> } {
  const client = createNodeRealtimeClient(realtimeUrl(context.url), context.api.tokens, {
    centrifuge: { name: 'latchkey-cli', timeout: Math.min(timeoutMs, 10_000) },
  });
  const reauth = new Promise<never>((_, reject) => {
    client.on('reauthRequired', (error) => reject(new CliError(`${error.message} (run \`latchkey login\`)`, ExitCode.AuthRequired)));
  });
  reauth.catch(() => undefined);
  client.connect();
  const ready = Promise.race([
    client.ready(timeoutMs).catch((error: unknown) => {
      throw new CliError(`cannot connect to ${realtimeUrl(context.url)}: ${describeRealtimeError(error)}`, ExitCode.Failure);
    }),
    reauth,
  ]);
  return { client, ready, reauth };
}

/** centrifuge rejects with plain `{ code, message }` objects. */
export function describeRealtimeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return [code, message].filter((part) => part !== undefined && part !== '').join(' ') || 'unknown error';
  }
  return String(error);
}
