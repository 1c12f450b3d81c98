/**
 * The browser pages: the demo app at `/` and the admin console at `/admin`, built from `web/` into
 * `dist/web/` and served with a strict Content-Security-Policy.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { AdminError, type AdminOperations } from '../admin/index.js';
import type { AppContext, MountedService } from '../http/context.js';
import type { IdentityExports } from '../identity/service.js';
import type { GatewayExports } from '../gateway/index.js';
import { registerConsoleAdminRoutes } from './admin-routes.js';
import { loadWebAssets, registerAssetRoutes } from './assets.js';
import { escapeAttribute, sendPage } from './security-headers.js';
import { ConsoleSessions } from './sessions.js';

export { CONSOLE_COOKIE } from './admin-routes.js';

/** Options of {@link mountConsole}. */
export interface ConsoleServiceOptions {
  /** Folder of the built pages. Default `dist/web/` of this package. */
  readonly assetsDirectory?: string;
}

/** What the console is built on. */
export interface ConsoleDependencies {
  /** Signs administrators in and serves the admin API the console calls; without it only the pages are served. */
  readonly identity: IdentityExports | null;
  /** Live figures of the gateway; `null` when it does not run. */
  readonly gateway: GatewayExports | null;
  /** The server's admin operations (signing keys, rotation), as the `latchkey` command reaches them. */
  readonly operations: AdminOperations;
  readonly options?: ConsoleServiceOptions;
}

/** What the console offers the services built after it. */
export interface ConsoleExports {
  /** Whether the pages are served (they are built by `npm run build`). */
  readonly served: boolean;
}

class ConsoleReadError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The console's reads beside the admin API: live gateway figures and the signing keys. */
function consoleExtras(app: FastifyInstance, identity: IdentityExports, gateway: GatewayExports | null, operations: AdminOperations): Record<string, (method: string) => Promise<unknown>> {
  const only = (method: string, wanted: string) => {
    if (method !== wanted) throw new ConsoleReadError(405, 'method_not_allowed', `Use ${wanted}`);
  };
  const adminCall = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AdminError) throw new ConsoleReadError(409, error.code, error.message);
      throw error;
    }
  };
  return {
    'console/gateway': async (method) => {
      only(method, 'GET');
      if (!gateway) return { mounted: false };
      const response = await app.inject({ method: 'POST', url: '/api/info', headers: { 'x-api-key': gateway.apiKey, 'content-type': 'application/json' }, payload: '{}' });
      const nodes = response.json<{ result?: { nodes?: Array<Record<string, unknown>> } }>().result?.nodes ?? [];
      return { mounted: true, nodes };
    },
    'console/keys': async (method) => {
      only(method, 'GET');
      const keys = await adminCall(() => operations.keys());
      const jwks = await app.inject({ method: 'GET', url: identity.tokens.jwksPath });
      const published = (jwks.json<{ keys?: Array<{ kid?: string; alg?: string }> }>().keys ?? []).map((key) => ({ kid: key.kid ?? null, alg: key.alg ?? null }));
      return { signing_kid: keys.signing_kid, source: keys.signing_keys_source, published, retired: keys.retired_keys };
    },
    'console/keys/rotate': async (method) => {
      only(method, 'POST');
      return adminCall(() => operations.rotateKeys());
    },
  };
}

/** Serves the demo app at `/`, the admin console at `/admin` and their assets at `/assets/*`. */
export async function mountConsole(app: FastifyInstance, context: AppContext, { identity, gateway, operations, options = {} }: ConsoleDependencies): Promise<MountedService<ConsoleExports>> {
  const assets = loadWebAssets(options.assetsDirectory);
  if (!assets) {
    context.logger.warn('the demo app and admin console are not built (run `npm run build`); / and /admin are not served');
    return { exports: { served: false } };
  }
  const anonKey = identity?.apiKeys.anonKey ?? '';
  registerAssetRoutes(app, assets);
  const demo = assets.demoHtml.replaceAll('{{anonKey}}', escapeAttribute(anonKey));
  app.get('/', async (request, reply) => sendPage(request, reply, demo));
  app.get('/admin', async (request, reply) => sendPage(request, reply, assets.adminHtml));
  if (identity) {
    registerConsoleAdminRoutes(app, { sessions: new ConsoleSessions(), anonKey, extras: consoleExtras(app, identity, gateway, operations) });
  }
  return {
    exports: { served: true },
    banner: (base) => [`demo app  ${base}/`, `console   ${base}/admin`],
  };
}
