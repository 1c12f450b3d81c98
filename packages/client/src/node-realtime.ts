import WebSocket from 'ws';
import type { TokenManager } from './manager.js';
import { createRealtimeClient, type RealtimeClient, type RealtimeClientOptions } from './realtime.js';

/** {@link createRealtimeClient} with the `ws` WebSocket, for Node versions without a global one. */
export function createNodeRealtimeClient(url: string, manager: TokenManager, options: RealtimeClientOptions = {}): RealtimeClient {
  return createRealtimeClient(url, manager, { websocket: WebSocket, ...options });
}
