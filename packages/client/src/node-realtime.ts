import WebSocket from 'ws';
import type { TokenManager } from './manager.js';
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions, type SocketSignInOptions } from './realtime.js';

/** {@link createRealtimeClient} with the `ws` WebSocket, for Node versions without a global one. */
export function createNodeRealtimeClient(url: string, manager: TokenManager, options?: RealtimeClientOptions): RealtimeClient;
/** {@link createRealtimeClient} signing in over the socket, with the `ws` WebSocket. */
export function createNodeRealtimeClient(url: string, options: SocketSignInOptions): RealtimeClient;
export function createNodeRealtimeClient(url: string, source: TokenManager | SocketSignInOptions, options: RealtimeClientOptions = {}): RealtimeClient {
  if ('provider' in source) return createRealtimeClient(url, { websocket: WebSocket, ...source });
  return createRealtimeClient(url, source, { websocket: WebSocket, ...options });
}
