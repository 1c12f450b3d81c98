/**
 * The revocation feed: `GET /auth/v1/revocations`, for resource servers that refuse the access tokens
 * of ended sessions (`@latchkey/verify/revocations`). Authenticated with the service_role key
 * (`Authorization: Bearer <key>` or the `apikey` header). Not part of the public API description.
 *
 * - `text/event-stream` (default): each event as `id: <id>`, `event: revocation`, `data: <event JSON>`.
 *   It starts after the `Last-Event-ID` header (else `?after=<id>`; else with every stored unexpired
 *   event), then sends `event: ready` (the stored events are all sent), then live events as they
 *   happen, with no gap and no duplicate between the two. A `: heartbeat` comment every 15 s.
 * - `?format=json[&after=<id>][&limit=<1..1000>]`: a JSON array of stored events, oldest first, for
 *   polling clients; ask again after the last id until fewer than `limit` come back.
 *
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { IdentityError, Messages, validationFailed } from '../identity/errors.js';
import { sameSecret } from '../identity/http/request.js';
import type { RevocationEvent, Revocations } from './types.js';

/** Options of {@link registerRevocationFeedRoute}. */
export interface RevocationFeedRouteOptions {
  readonly revocations: Revocations;
  /** The service_role key the feed requires. */
  serviceRoleKey(): string;
  /** Milliseconds between heartbeat comments. Default is 15000 (15 seconds). */
  readonly heartbeatInterval?: number;
}

/** Events read from the store per query. */
const PAGE = 500;
/** A stream whose unsent output exceeds this is too slow to follow and is closed (it reconnects and resumes). */
const MAX_BUFFERED = 1024 * 1024;
const EVENT_ID = /^[0-9]{1,19}$/;
/** Ids are PostgreSQL `bigint`s: a larger number is no event id (and must not reach the query). */
const MAX_EVENT_ID = 2n ** 63n - 1n;
/** Milliseconds the ids sent during catch-up are remembered once live (announcements trail commits). */
const SENT_MEMORY = 60_000;

interface FeedQuery {
  after?: string;
  format?: string;
  limit?: string;
}

/** The service key of the request: the bearer of `Authorization`, else the `apikey` header. */
function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && authorization !== '') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1] : undefined;
  }
  const apikey = request.headers.apikey;
  return typeof apikey === 'string' && apikey !== '' ? apikey : undefined;
}

function eventId(value: unknown, name: string): string | null {
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string' || !EVENT_ID.test(value) || BigInt(value) > MAX_EVENT_ID) throw validationFailed(`${name} must be an event id (a decimal number)`);
  return value;
}

function frame(event: RevocationEvent): string {
  return `id: ${event.id}\nevent: revocation\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Registers the feed on `app` (the identity service's scope, so errors take GoTrue's format). */
export function registerRevocationFeedRoute(app: FastifyInstance, options: RevocationFeedRouteOptions): void {
  const { revocations } = options;
  const heartbeatInterval = options.heartbeatInterval ?? 15_000;
  const streams = new Set<ServerResponse>();
  let closing = false;

  app.addHook('preClose', async () => {
    closing = true;
    for (const stream of streams) stream.end();
  });

  app.get<{ Querystring: FeedQuery }>('/revocations', async (request, reply) => {
    const key = presentedKey(request);
    if (key === undefined) throw new IdentityError(401, 'no_authorization', Messages.noAuthorization);
    if (!sameSecret(key, options.serviceRoleKey())) throw new IdentityError(403, 'not_admin', Messages.notAdmin);
    const query = request.query;
    const format = query.format;
    if (format !== undefined && format !== 'json' && format !== 'event-stream') throw validationFailed('format must be "json" or "event-stream"');
    const lastEventId = request.headers['last-event-id'];
    const after = typeof lastEventId === 'string' && lastEventId !== '' ? eventId(lastEventId, 'Last-Event-ID') : eventId(query.after, 'after');

    if (format === 'json') {
      let limit = 1000;
      if (query.limit !== undefined) {
        if (!/^[0-9]{1,4}$/.test(query.limit) || Number(query.limit) < 1 || Number(query.limit) > 1000) throw validationFailed('limit must be an integer from 1 to 1000');
        limit = Number(query.limit);
      }
      const events = await revocations.since(after, limit);
      return reply.header('cache-control', 'no-store').send(events);
    }

    if (closing) throw new IdentityError(503, 'unexpected_failure', 'The server is shutting down');
    reply.hijack();
    const stream = reply.raw;
    stream.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      // A stream is never followed by another request on its connection: ending it closes the socket.
      connection: 'close',
    });
    stream.flushHeaders();
    streams.add(stream);

    let live = false;
    let pending: RevocationEvent[] = [];
    const sent = new Set<string>();
    const write = (text: string): void => {
      if (stream.writableEnded) return;
      stream.write(text);
      if (stream.writableLength > MAX_BUFFERED) stream.destroy();
    };
    const unsubscribe = revocations.subscribe((event) => {
      if (!live) pending.push(event);
      else if (!sent.has(event.id)) write(frame(event));
    });
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatInterval);
    heartbeat.unref();
    let forget: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearInterval(heartbeat);
      clearTimeout(forget);
      unsubscribe();
      streams.delete(stream);
    };
    stream.on('close', finish);

    try {
      // Subscribed first, then read the store: an event committed meanwhile is in both and sent once.
      let cursor = after;
      for (;;) {
        const page = await revocations.since(cursor, PAGE);
        for (const event of page) {
          if (sent.has(event.id)) continue;
          sent.add(event.id);
          write(frame(event));
        }
        const last = page.at(-1);
        if (page.length < PAGE || last === undefined) break;
        cursor = last.id;
      }
      for (const event of pending) {
        if (sent.has(event.id)) continue;
        sent.add(event.id);
        write(frame(event));
      }
      pending = [];
      live = true;
      // An event the store already showed may be announced only now (its transaction committed just
      // before the read): the ids sent so far are remembered until any such announcement is over.
      forget = setTimeout(() => sent.clear(), SENT_MEMORY);
      forget.unref();
      write('event: ready\ndata: {}\n\n');
    } catch (error) {
      const { message, code } = error as { message?: string; code?: string };
      request.log.error({ error: { message, code } }, 'revocation feed catch-up failed');
      stream.end();
    }
  });
}
