import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer } from 'ws';
import type { GatewayNode } from './node.js';
import { chooseSubprotocol, codecFor } from './protocol/negotiate.js';
import { Session } from './session/session.js';

/** Where clients connect, as Centrifugo serves it. */
export const WEBSOCKET_PATH = '/connection/websocket';

function reject(socket: Duplex, status: number, message: string): void {
  socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${message.length}\r\n\r\n${message}`);
}

/**
 * Origin rule: no `Origin` header (non-browser clients) or the same host is always accepted; `*` accepts
 * every origin; otherwise the origin must be listed.
 */
export function originAllowed(request: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || allowed.includes('*')) return true;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/**
 * Handles WebSocket upgrades at {@link WEBSOCKET_PATH} on the app's HTTP server. Other upgrade paths are
 * left to other listeners (or refused with 404 when there is none). `clientHeaders` are kept per
 * connection besides those the RPC proxy forwards (the client-address header behind a proxy, the user
 * agent), for RPC handlers that count limits per client.
 */
export function mountWebSocket(app: FastifyInstance, node: GatewayNode, clientHeaders: readonly string[] = []): void {
  const kept = [...new Set([...(node.settings.rpcProxy?.httpHeaders ?? []), ...clientHeaders])];
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: node.settings.messageSizeLimit,
    handleProtocols: chooseSubprotocol,
  });
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== WEBSOCKET_PATH) {
      if (app.server.listenerCount('upgrade') === 1) reject(socket, 404, 'Not Found');
      return;
    }
    if (!originAllowed(request, node.settings.allowedOrigins)) {
      reject(socket, 403, 'Forbidden');
      return;
    }
    const query = new URLSearchParams((request.url ?? '').split('?')[1] ?? '');
    wss.handleUpgrade(request, socket, head, (ws) => {
      node.add(new Session(node, ws, keptHeaders(request, kept), request.socket, codecFor(query, ws.protocol), socket));
    });
  });
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Keeps only the headers the RPC proxy forwards, so idle connections hold no request data. */
function keptHeaders(request: IncomingMessage, names: readonly string[]): Readonly<Record<string, string>> {
  if (names.length === 0) return NO_HEADERS;
  const kept: Record<string, string> = {};
  for (const name of names) {
    const value = request.headers[name];
    if (typeof value === 'string') kept[name] = value;
  }
  return kept;
}
