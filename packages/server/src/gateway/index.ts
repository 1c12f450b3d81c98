import type { FastifyInstance } from 'fastify';
import type { AppContext, MountedService } from '../http/context.js';
import type { Revocations } from '../revocation/types.js';
import type { IdentityExports, IdentityTokens } from '../identity/service.js';
import { registerServerApi } from './api/routes.js';
import { registerAuthMethods } from './auth-rpc/identity-methods.js';
import { resolveApiKey } from './api/key.js';
import { createGatewayVerifier } from './auth/verifier.js';
import { MemoryBroker, MemoryPresence } from './broker/memory.js';
import type { Broker, PresenceStore } from './broker/types.js';
import { databaseMembership } from './membership/cache.js';
import { GatewayNode, type SendHandler } from './node.js';
import { RpcRegistry, type RpcHandler } from './rpc/registry.js';
import { loadGatewaySettings, type GatewaySettings, type GatewaySettingsOverrides } from './settings.js';
import { mountWebSocket, WEBSOCKET_PATH } from './websocket.js';

export { ErrorCode, DisconnectCode, UnsubscribeCode } from './protocol/codes.js';
export { RpcError } from './rpc/errors.js';
export type { RpcContext, RpcHandler } from './rpc/registry.js';
export type { GatewaySettings } from './settings.js';
export type { GatewayClaims } from './auth/claims.js';
export { loadGatewaySettings } from './settings.js';
export { parseCentrifugoConfig } from './config-file.js';

/** Gateway version reported in connect replies and `/api/info`. */
export const GATEWAY_VERSION = '0.1.0';

/** What the gateway offers the services built after it. */
export interface GatewayExports {
  /**
   * Registers an in-process RPC method. Clients call it with `centrifuge.rpc(method, data)`.
   *
   * @example
   * ```ts
   * gateway.registerRpc('query.note.list', async (data, { claims }) => listNotes(claims));
   * ```
   */
  registerRpc<TData = unknown, TResult = unknown>(method: string, handler: RpcHandler<TData, TResult>): void;
  /** Publishes `data` (any JSON value) to `channel` on every node. */
  publish(channel: string, data: unknown): Promise<void>;
  /** Disconnects every connection of `user` (3503 force disconnect unless `code` is given). */
  disconnectUser(user: string, options?: { code?: number; reason?: string }): Promise<void>;
  /** Receives `send` messages from clients. */
  onSend(handler: SendHandler): void;
  /** The server API key (`X-API-Key`). */
  readonly apiKey: string;
  readonly settings: GatewaySettings;
}

/** Options for {@link mountGateway}. */
export type GatewayServiceOptions = GatewaySettingsOverrides;

/** What the gateway is built on. */
export interface GatewayDependencies {
  /** The identity service's tokens: connection tokens are verified by its JWKS, issuer, audience and secret by default. */
  readonly tokens: IdentityTokens;
  /**
   * The identity service when it runs in this process: its JWKS is read without the network, sign-in over
   * the socket (`auth.*` RPCs) is offered, and its client-address header is kept for them. `null` otherwise.
   */
  readonly identity: IdentityExports | null;
  readonly options?: GatewayServiceOptions;
}

/**
 * The realtime gateway: Centrifugo client protocol v2 (JSON and protobuf) at `/connection/websocket`, and the
 * server API at `POST /api/<method>` authenticated with `X-API-Key`.
 */
export async function mountGateway(app: FastifyInstance, context: AppContext, { tokens, identity, options = {} }: GatewayDependencies): Promise<MountedService<GatewayExports>> {
  const settings = loadGatewaySettings(context.env, { ...options, identityInProcess: identity !== null });
  const verifierContext = {
    identityJwksUrl: tokens.jwksUrl,
    identityIssuer: tokens.issuer,
    identityAudience: tokens.audience,
    identitySecret: tokens.secret,
    ...(identity ? { identityFetch: identityJwksFetch(app, tokens.jwksPath) } : {}),
  };
  const verifier = createGatewayVerifier(settings.token, verifierContext, 'LATCHKEY_GATEWAY_TOKEN_*');
  const subscriptionVerifier = settings.subscriptionToken
    ? createGatewayVerifier(settings.subscriptionToken, verifierContext, 'LATCHKEY_GATEWAY_SUBSCRIPTION_TOKEN_*')
    : verifier;
  const redisUrl = context.config.redisUrl;
  let broker: Broker = new MemoryBroker();
  let presence: PresenceStore = new MemoryPresence();
  if (redisUrl) {
    // Loaded only when used: single-node starts stay lean.
    const { RedisBroker, RedisPresence } = await import('./broker/redis.js');
    // Under the deployment's prefix (`LATCHKEY_REDIS_PREFIX`), so deployments sharing a Redis stay apart.
    const prefix = `${context.config.redisPrefix}.gateway`;
    broker = new RedisBroker({ url: redisUrl, prefix });
    presence = new RedisPresence({ url: redisUrl, prefix });
  }
  const rpc = new RpcRegistry({
    proxy: settings.rpcProxy,
    withoutNamespaceProxy: settings.rpcWithoutNamespaceProxy,
    namespaces: settings.rpcNamespaces,
    boundary: settings.rpcNamespaceBoundary,
  });
  const node = new GatewayNode({
    settings,
    verifier,
    subscriptionVerifier,
    broker,
    presence,
    rpc,
    logger: context.logger,
    version: GATEWAY_VERSION,
    membership: databaseMembership(context.db),
  });
  let stopRevocations: () => void = () => undefined;
  let apiKey: string;
  let generated: boolean;
  try {
    await node.start();
    stopRevocations = await followRevocations(context.revocations, node);
    ({ key: apiKey, generated } = await resolveApiKey(context.db, settings.apiKey));
  } catch (error) {
    stopRevocations();
    await node.close();
    throw error;
  }

  for (const key of settings.unsupported) context.logger.warn({ key, file: settings.configFile }, `gateway config: unsupported key ${key} is ignored`);
  if (settings.insecure) context.logger.warn('gateway insecure mode is on: anonymous connections, every channel open, tokens never expire — development only');
  // Centrifugo accepts any key length; so does a key from its config file, with this warning.
  if (settings.apiKey !== null && settings.apiKey.length < 16) context.logger.warn('gateway server API key is shorter than 16 characters: use a longer random key outside development');
  if (settings.apiInsecure) context.logger.warn('gateway server API accepts requests without an API key (http_api.insecure)');

  // Sign-in over the socket, when the identity service runs in this process.
  if (identity && settings.authRpc) registerAuthMethods(rpc, app, tokens.prefix, { grants: identity.grants, settings: identity.settings, logger: context.logger });
  mountWebSocket(app, node, identity ? ['user-agent', identity.settings.rateLimitHeader ?? 'x-forwarded-for'] : []);
  await registerServerApi(app, node, () => apiKey);
  // Close sockets before the HTTP server waits for its connections to end.
  app.addHook('preClose', async () => {
    stopRevocations();
    await node.close();
  });

  const exports: GatewayExports = {
    registerRpc: (method, handler) => rpc.register(method, handler),
    publish: async (channel, data) => {
      await node.publish(channel, data);
    },
    disconnectUser: (user, disconnectOptions) => node.disconnectUser(user, disconnectOptions),
    onSend: (handler) => node.addSendHandler(handler),
    apiKey,
    settings,
  };
  return {
    exports,
    banner(baseUrl: string) {
      const ws = baseUrl.replace(/^http/, 'ws');
      return [
        `gateway   ${ws}${WEBSOCKET_PATH} (${broker.kind} broker${settings.insecure ? ', INSECURE' : ''})`,
        `gateway API key${generated ? ' (generated)' : ''}: ${apiKey}`,
      ];
    },
    async close() {
      stopRevocations();
      await node.close();
    },
  };
}

/**
 * A `fetch` of the identity service's JWKS answered by this process's own route, without the network
 * (whatever URL it is given: the public URL may be a proxy's, with a path prefix).
 */
function identityJwksFetch(app: FastifyInstance, jwksPath: string): typeof fetch {
  return (async () => {
    const response = await app.inject({ method: 'GET', url: jwksPath });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers.set(name, value);
    return new Response(response.body, { status: response.statusCode, headers });
  });
}

/** Events read per page when catching up at start. */
const CATCH_UP_PAGE = 1000;

/**
 * Hands every revocation event to the node: live ones as they arrive (from this node or any other), and
 * the stored unexpired ones at start, so connects with tokens of sessions that ended while this node was
 * down are refused too. Throws when the stored events cannot be read. Returns the function that stops
 * listening.
 */
async function followRevocations(revocations: Revocations, node: GatewayNode): Promise<() => void> {
  const stop = revocations.subscribe((event) => node.applyRevocation(event));
  try {
    let after: string | null = null;
    for (;;) {
      const page = await revocations.since(after, CATCH_UP_PAGE);
      for (const event of page) node.applyRevocation(event);
      if (page.length < CATCH_UP_PAGE) break;
      after = page[page.length - 1]!.id;
    }
  } catch (error) {
    // Without the stored events, connects with tokens of sessions that ended earlier would be
    // accepted: the node does not start rather than fail open.
    stop();
    throw error;
  }
  return stop;
}
