import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { keepsHistory, type NamespaceOptions } from '../channels/options.js';
import { resolveChannel } from '../channels/resolve.js';
import { historyQuery, historyResult, streamOptions } from '../history/position.js';
import type { StreamPosition } from '../history/types.js';
import { RpcError } from '../rpc/errors.js';
import { parseJsonText, UnsafeInputError } from '../../input/index.js';
import type { GatewayNode } from '../node.js';
import { ERROR_MESSAGES, ErrorCode } from '../protocol/codes.js';
import { keyMatches } from './key.js';
import { BrokerUnavailableError } from '../broker/types.js';
import { DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable, markUnavailable } from '../../http/unavailable.js';

/** Method error in Centrifugo's server API shape (HTTP 200 with an `error` object). */
class ApiMethodError extends Error {
  constructor(
    readonly code: ErrorCode,
    message?: string,
  ) {
    super(message ?? ERROR_MESSAGES[code]);
  }
}

type Body = Record<string, unknown>;

function channelOf(node: GatewayNode, value: unknown, field = 'channel'): string {
  if (typeof value !== 'string' || value === '') throw new ApiMethodError(ErrorCode.BadRequest, `${field} required`);
  const resolved = resolveChannel(node.settings.channels, value);
  if (typeof resolved === 'number') throw new ApiMethodError(resolved);
  return value;
}

/** The publication data as JSON text: `data` (any JSON) or `b64data` holding JSON. */
function dataJsonOf(body: Body): string {
  if (body.data !== undefined && body.data !== null) return JSON.stringify(body.data);
  if (typeof body.b64data === 'string') {
    try {
      const text = Buffer.from(body.b64data, 'base64').toString('utf8');
      parseJsonText(text);
      return text;
    } catch {
      throw new ApiMethodError(ErrorCode.BadRequest, 'b64data must hold JSON (the gateway speaks the JSON protocol)');
    }
  }
  throw new ApiMethodError(ErrorCode.BadRequest, 'data required');
}

function presenceChannel(node: GatewayNode, body: Body): string {
  const channel = channelOf(node, body.channel);
  const resolved = resolveChannel(node.settings.channels, channel);
  if (typeof resolved !== 'number' && !resolved.namespace.presence) throw new ApiMethodError(ErrorCode.NotAvailable);
  return channel;
}

/** The position a publish reports: `{offset, epoch}` where the channel keeps history, `{}` otherwise. */
function positionOf(position: StreamPosition | null): object {
  return position === null ? {} : { offset: position.offset, epoch: position.epoch };
}

/** The namespace of a history request's channel; 108 when it keeps no history. */
function historyNamespace(node: GatewayNode, body: Body): NamespaceOptions {
  const resolved = resolveChannel(node.settings.channels, channelOf(node, body.channel));
  if (typeof resolved === 'number') throw new ApiMethodError(resolved);
  if (!keepsHistory(resolved.namespace)) throw new ApiMethodError(ErrorCode.NotAvailable);
  return resolved.namespace;
}

/** Server API methods: body in, `result` out; {@link ApiMethodError} for method errors. */
function methods(node: GatewayNode): Record<string, (body: Body) => Promise<object>> {
  return {
    async publish(body) {
      const channel = channelOf(node, body.channel);
      return positionOf(await node.publishJson(channel, dataJsonOf(body), undefined, { skipHistory: body.skip_history === true, delta: body.delta === true }));
    },
    async broadcast(body) {
      if (!Array.isArray(body.channels) || body.channels.length === 0) throw new ApiMethodError(ErrorCode.BadRequest, 'channels required');
      const dataJson = dataJsonOf(body);
      const responses = await Promise.all(
        body.channels.map(async (value: unknown) => {
          try {
            return { result: positionOf(await node.publishJson(channelOf(node, value), dataJson, undefined, { skipHistory: body.skip_history === true, delta: body.delta === true })) };
          } catch (error) {
            if (error instanceof ApiMethodError) return { error: { code: error.code, message: error.message } };
            throw error;
          }
        }),
      );
      return { responses };
    },
    async disconnect(body) {
      if (typeof body.user !== 'string') throw new ApiMethodError(ErrorCode.BadRequest, 'user required');
      const custom = body.disconnect as { code?: unknown; reason?: unknown } | undefined;
      if (custom !== undefined && (typeof custom !== 'object' || custom === null || typeof custom.code !== 'number' || custom.code < 3000 || custom.code > 4999)) {
        throw new ApiMethodError(ErrorCode.BadRequest, 'disconnect.code must be a number between 3000 and 4999');
      }
      const whitelist = Array.isArray(body.whitelist) ? body.whitelist.filter((item): item is string => typeof item === 'string') : undefined;
      await node.disconnectUser(body.user, {
        ...(typeof body.client === 'string' && body.client !== '' ? { client: body.client } : {}),
        ...(whitelist ? { whitelist } : {}),
        ...(custom ? { code: custom.code as number, reason: typeof custom.reason === 'string' ? custom.reason.slice(0, 100) : '' } : {}),
      });
      return {};
    },
    async presence(body) {
      return { presence: await node.presence.get(presenceChannel(node, body)) };
    },
    async presence_stats(body) {
      return node.presence.stats(presenceChannel(node, body));
    },
    async history(body) {
      const namespace = historyNamespace(node, body);
      return historyResult(node.broker, body.channel as string, historyQuery(body, streamOptions(namespace, node.settings.channels).metaTtl));
    },
    async history_remove(body) {
      historyNamespace(node, body);
      await node.broker.removeHistory(body.channel as string);
      return {};
    },
    async info() {
      return { nodes: node.nodes() };
    },
  };
}

/** Reads the key from `X-API-Key`, `Authorization: apikey <key>` or `?api_key=`. */
function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^apikey\s+(.+)$/i.exec(authorization);
    if (match?.[1]) return match[1].trim();
  }
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.api_key === 'string' ? query.api_key : undefined;
}

/**
 * `POST /api/<method>` in Centrifugo's server API shape. Unauthorised → HTTP 401; malformed JSON →
 * HTTP 400; method errors → HTTP 200 `{"error":{code,message}}`; success → `{"result":{…}}`.
 */
export async function registerServerApi(app: FastifyInstance, node: GatewayNode, apiKey: () => string): Promise<void> {
  const table = methods(node);
  await app.register(async (api) => {
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 10 * 1024 * 1024 }, (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, {});
      try {
        done(null, parseJsonText(text));
      } catch (failure) {
        if (failure instanceof UnsafeInputError) return done(failure, undefined);
        const error = new Error('request body is not JSON') as Error & { statusCode: number };
        error.statusCode = 400;
        done(error, undefined);
      }
    });
    api.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
      if (isDatabaseUnavailable(error)) return markUnavailable(reply).send({ error: { code: ErrorCode.Internal, message: DATABASE_UNAVAILABLE_MESSAGE } });
      if (error instanceof BrokerUnavailableError) return markUnavailable(reply).send({ error: { code: ErrorCode.Internal, message: 'The broker is unreachable; retry shortly' } });
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) request.log.error({ err: error }, 'gateway API failed');
      return reply.code(status).send({ error: { code: status === 500 ? ErrorCode.Internal : ErrorCode.BadRequest, message: status === 500 ? 'internal server error' : error.message } });
    });
    api.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (node.settings.apiInsecure) return;
      const key = presentedKey(request);
      if (key === undefined || !keyMatches(key, apiKey())) {
        return reply.code(401).send({ error: { code: ErrorCode.Unauthorized, message: 'unauthorized' } });
      }
    });
    for (const [name, method] of Object.entries(table)) {
      api.post(`/api/${name}`, async (request, reply) => {
        const body = request.body;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          return reply.code(400).send({ error: { code: ErrorCode.BadRequest, message: 'request body must be a JSON object' } });
        }
        try {
          return { result: await method(body as Body) };
        } catch (error) {
          if (error instanceof ApiMethodError || error instanceof RpcError) return { error: { code: error.code, message: error.message } };
          throw error;
        }
      });
    }
  });
}
