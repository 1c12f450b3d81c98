/**
 * The admin channel of a running server: the `latchkey` command's way to run `keys`, `keys rotate`,
 * `clients`, `mail`, `migrate` and `status` against a server that holds the database (the embedded one
 * allows a single process). See `protocol.ts` for the wire format.
 *
 * @module
 */
import type { AppContext } from '../http/context.js';
import type { Services } from '../composition.js';
import { WEBSOCKET_PATH } from '../gateway/websocket.js';
import { IDENTITY_PREFIX, type IdentityExports } from '../identity/service.js';
import type { IdentitySettings } from '../identity/settings.js';
import { databaseIdentity, databaseLocation } from './database-identity.js';
import { assertRotatable, databaseOperations, readSigningKey, rotationReport, type AdminOperations } from './operations.js';
import { adminSocketPath, AdminError, type StatusReport } from './protocol.js';
import { listenAdminSocket, type AdminSocket } from './socket-server.js';

export * from './protocol.js';
export { databaseIdentity, databaseLocation } from './database-identity.js';
export { databaseOperations, readKeys, type AdminOperations } from './operations.js';
export { listenAdminSocket, type AdminSocket, type AdminSocketOptions } from './socket-server.js';

const SERVICE_PATHS = { identity: IDENTITY_PREFIX, gateway: WEBSOCKET_PATH } as const;

/**
 * The operations of a running server: those of its database, with the keys it actually uses and a
 * rotation that this process starts signing with at once. `identity` is `null` when the identity service
 * does not run in this process; `settings` are the validated identity settings either way.
 */
export function serverOperations(context: AppContext, settings: IdentitySettings, identity: IdentityExports | null): AdminOperations {
  const base = databaseOperations(context.db, settings, context.revocations, identity?.passwords);
  const mounted = () => {
    if (!identity) throw new AdminError('identity_not_mounted', 'this server does not run the identity service');
    return identity;
  };
  return {
    ...base,
    async keys() {
      const { apiKeys } = mounted();
      return { anon_key: apiKeys.anonKey, service_role_key: apiKeys.serviceRoleKey, ...(await readSigningKey(context.db, settings)) };
    },
    async rotateKeys() {
      const service = mounted();
      assertRotatable(settings);
      return rotationReport(await service.rotateSigningKey());
    },
  };
}

/**
 * The status a running server reports for `latchkey status`. `apiPath` is where the app mounted into
 * the server (the example API with `--example`) serves, `null` when none is.
 */
export function serverStatus(context: AppContext, services: Services, url: string, socketPath: string, startedAt: Date, apiPath: string | null = null): StatusReport {
  const base = context.publicUrl();
  const has = (name: keyof typeof SERVICE_PATHS) => services[name] !== null;
  const apiKeys = services.identity?.apiKeys;
  return {
    running: true,
    pid: process.pid,
    started_at: startedAt.toISOString(),
    url,
    public_url: base,
    urls: {
      health: `${base}/health`,
      identity: has('identity') ? `${base}${SERVICE_PATHS.identity}` : null,
      jwks: has('identity') ? `${base}${SERVICE_PATHS.identity}/.well-known/jwks.json` : null,
      gateway: has('gateway') ? `${base.replace(/^http/, 'ws')}${SERVICE_PATHS.gateway}` : null,
      api: apiPath === null ? null : `${base}${apiPath}`,
    },
    database: { kind: context.db.kind, location: databaseLocation(context.config.database) },
    data_dir: context.config.dataDir,
    admin_socket: socketPath,
    anon_key: apiKeys?.anonKey ?? null,
    service_role_key: apiKeys?.serviceRoleKey ?? null,
  };
}

/**
 * Opens the admin socket of a running server in its data directory. Returns `null` (after a warning)
 * when it cannot: an in-memory database, another live server on the same directory (PostgreSQL), or a
 * path the system refuses. The server runs on without it; the commands then use the database directly.
 */
export async function openAdminChannel(context: AppContext, services: Services, operations: AdminOperations, url: string, apiPath: string | null = null): Promise<AdminSocket | null> {
  const databaseId = databaseIdentity(context.config.database);
  if (databaseId === null) return null;
  const path = adminSocketPath(context.config.dataDir);
  const startedAt = new Date();
  try {
    return await listenAdminSocket({
      path,
      databaseId,
      operations,
      status: async () => serverStatus(context, services, url, path, startedAt, apiPath),
      logger: context.logger,
    });
  } catch (error) {
    context.logger.warn({ path, reason: (error as Error).message }, 'admin socket not opened; `latchkey` admin commands will open the database directly');
    return null;
  }
}
export { withDatabaseOperations } from './direct.js';
