/**
 * A small in-process revocation feed server speaking the identity service's protocol, for forcing
 * faults the real one does not produce on demand (malformed events, dropped connections, silence,
 * wrong answers). Interoperability with the real endpoint is tested in the server package against a
 * running Latchkey.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RevocationEvent } from '../src/index.js';

export const SERVICE_KEY = 'test-service-key';

export interface FeedServer {
  readonly url: string;
  /** Stored events (what catch-up reads). */
  readonly events: RevocationEvent[];
  /** `Last-Event-ID` (or `null`) of every stream request, in order. */
  readonly resumes: Array<string | null>;
  /** Stores `event` and sends it to every open stream. */
  emit(event: RevocationEvent): void;
  /** Sends a raw `revocation` message (not stored) to every open stream. */
  sendRaw(data: string): void;
  /** Destroys every open stream's connection. */
  drop(): void;
  /** Number of open streams. */
  readonly open: number;
  /** Answer for the next requests: 200 streams; another status answers with it; `'silent'` streams nothing at all. */
  mode: 200 | 401 | 403 | 500 | 'silent';
  close(): Promise<void>;
}

export function revocation(id: number | string, fields: Partial<RevocationEvent> = {}): RevocationEvent {
  const now = Math.floor(Date.now() / 1000);
  return { id: String(id), kind: 'logout', user_id: null, session_ids: null, organization_id: null, client_id: null, issued_before: now, expires_at: now + 3600, ...fields };
}

export async function startFeedServer(): Promise<FeedServer> {
  const events: RevocationEvent[] = [];
  const resumes: Array<string | null> = [];
  const streams = new Set<ServerResponse>();
  const frame = (event: RevocationEvent) => `id: ${event.id}\nevent: revocation\ndata: ${JSON.stringify(event)}\n\n`;
  const after = (id: string | null) => events.filter((event) => id === null || BigInt(event.id) > BigInt(id));
  const state = { mode: 200 as FeedServer['mode'] };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.headers.authorization !== `Bearer ${SERVICE_KEY}`) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"code":401}');
      return;
    }
    if (state.mode !== 200 && state.mode !== 'silent') {
      response.writeHead(state.mode, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    if (url.searchParams.get('format') === 'json') {
      const limit = Number(url.searchParams.get('limit') ?? '1000');
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(after(url.searchParams.get('after')).slice(0, limit)));
      return;
    }
    const last = request.headers['last-event-id'];
    resumes.push(typeof last === 'string' ? last : null);
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.flushHeaders();
    if (state.mode === 'silent') return;
    for (const event of after(typeof last === 'string' ? last : null)) response.write(frame(event));
    response.write('event: ready\ndata: {}\n\n');
    streams.add(response);
    response.on('close', () => streams.delete(response));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/auth/v1/revocations`,
    events,
    resumes,
    emit(event) {
      events.push(event);
      for (const stream of streams) stream.write(frame(event));
    },
    sendRaw(data) {
      for (const stream of streams) stream.write(`event: revocation\ndata: ${data}\n\n`);
    },
    drop() {
      for (const stream of streams) stream.destroy();
    },
    get open() {
      return streams.size;
    },
    get mode() {
      return state.mode;
    },
    set mode(value) {
      state.mode = value;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
