import type { FastifyInstance } from 'fastify';
import { loadServerConfig, type Environment, type ServerConfig, type ServerFlags } from './config/index.js';
import { migrate, openDatabase, type Database } from './db/index.js';
import { databaseLocation, openAdminChannel } from './admin/index.js';
import { nextSteps } from './banner.js';
import { joinCluster, openClusterBus, readClusterUrl, sharedSettings, storedClusterUrl, type ClusterBus, type ClusterMembership } from './cluster/index.js';
import { buildApp } from './http/app.js';
import { plainHttpWarning, readTlsMaterial, reloadTls } from './http/tls.js';
import type { AppContext } from './http/context.js';
import { loadIdentitySettings } from './identity/settings.js';
import { createLogger, type Logger } from './logging/logger.js';
import { createRevocations } from './revocation/revocations.js';
import type { Revocations } from './revocation/types.js';
import { composeServices, defaultServices, type ComposedServices, type ServiceSelection, type Services } from './composition.js';
import { checkExtensionNames, extensionHost, migrateExtension, type MountedExtension, type ServerExtension } from './extensions.js';

export interface StartOptions {
  /** Environment to read settings from. Default `process.env`. */
  readonly env?: Environment;
  readonly flags?: ServerFlags;
  /** Already-validated settings; read from `env` and `flags` when absent. */
  readonly config?: ServerConfig;
  readonly logger?: Logger;
  /** Services to run. Default: every service of the product ({@link defaultServices}). */
  readonly services?: ServiceSelection;
  /** An open database to use instead of the configured one (tests). Not closed by `close()`. */
  readonly database?: Database;
  /**
   * Serve the admin channel of the `latchkey` command on `<data dir>/admin.sock`. Default: true unless
   * `database` is given or the database is in memory.
   */
  readonly adminSocket?: boolean;
  /**
   * Share the deployment's settings with the other nodes on the same PostgreSQL database: the stored
   * deployment URL names the token issuer when `LATCHKEY_PUBLIC_URL` is not set, and a node whose shared
   * settings differ from a running node's refuses to start. Default: true when the server opens its own
   * PostgreSQL database (not when `database` is given).
   */
  readonly cluster?: boolean;
  /**
   * Apps mounted after the services, in order (`latchkey serve --example` passes the example notes
   * API): their migrations run after the product's, then each is mounted with the extension host.
   */
  readonly extensions?: readonly ServerExtension[];
  /** Called with the app before the services are built (tests: observe the routes they register). */
  readonly prepare?: (app: FastifyInstance) => void | Promise<void>;
  /** Called with the app and the running services before it listens, to add routes (tests, embedding). */
  readonly extend?: (app: FastifyInstance, context: AppContext, services: Services) => void | Promise<void>;
}

/** A running Latchkey process. */
export interface RunningServer {
  /** Base URL the server listens on, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly config: ServerConfig;
  readonly logger: Logger;
  /** The services running in this process, each `null` when it does not run here. */
  readonly services: Services;
  /** The admin socket the `latchkey` command reaches this server on; `null` when none is open. */
  readonly adminSocket: string | null;
  /** This process's revocation events (`context.revocations`); closed by `close()`. */
  readonly revocations: Revocations;
  /** Banner lines naming each URL, ending with next steps. */
  readonly banner: readonly string[];
  /**
   * Reads the TLS certificate and key files again and serves them to new connections; open connections
   * are kept. Logs and keeps the previous pair when the files are not usable. No-op without TLS.
   * `latchkey serve` calls it on SIGHUP.
   */
  reloadTls(): boolean;
  /** Stops accepting, lets in-flight requests finish, stops services, closes the database. */
  close(): Promise<void>;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Validates settings, opens and migrates the database, mounts the services and listens.
 * Throws `ConfigError` for bad settings and `DatabaseUnavailableError` for an unreachable database.
 */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const config = options.config ?? loadServerConfig(env, options.flags);
  const logger = options.logger ?? createLogger(config.logLevel);
  // The token rules every service verifies by (issuer, audience, HS256 secret, lifetime): refused here, at
  // start, with a line naming the variable, before anything is opened.
  const identitySettings = loadIdentitySettings(env);
  // Unreadable or mismatched certificate files stop the start with a line naming the setting.
  const tls = config.tls ? readTlsMaterial(config.tls) : undefined;
  const ownsDatabase = options.database === undefined;
  const db = options.database ?? (await openDatabase(config));
  const extensions = options.extensions ?? [];
  checkExtensionNames(extensions);
  let composed: ComposedServices | undefined;
  const mountedExtensions: MountedExtension[] = [];
  let app: FastifyInstance | undefined;
  let revocations: Revocations | undefined;
  let bus: ClusterBus | undefined;
  let membership: ClusterMembership | undefined;
  try {
    await migrate(db);
    for (const extension of extensions) await migrateExtension(db, extension);
    revocations = await createRevocations({
      db,
      logger: logger.child({ service: 'revocations' }),
      tokenLifetime: identitySettings.jwtExpiry,
      redisUrl: config.redisUrl,
      channelPrefix: config.redisPrefix,
    });
    const clusterBus = await openClusterBus({ redisUrl: config.redisUrl, prefix: config.redisPrefix, db });
    bus = clusterBus;
    app = buildApp({ db, logger, broker: clusterBus, tls });
    const scheme = tls ? 'https' : 'http';
    const extensionPrefixes: string[] = [];
    let listeningUrl = `${scheme}://${formatHost(config.host)}:${config.port}`;
    // On PostgreSQL several nodes share the database: without LATCHKEY_PUBLIC_URL the deployment is named
    // by the address its first node listened on (stored), never by each node's own port.
    const clustered = db.kind === 'postgres' && (options.cluster ?? ownsDatabase);
    const shared = clustered && config.publicUrl === null;
    let clusterUrl = config.publicUrl ?? (shared ? await readClusterUrl(db) : null);
    if (shared && clusterUrl === null && config.port !== 0) clusterUrl = await storedClusterUrl(db, listeningUrl);
    const context: AppContext = {
      config,
      env,
      db,
      logger,
      revocations,
      cluster: clusterBus,
      publicUrl: () => config.publicUrl ?? listeningUrl,
      clusterUrl: () => clusterUrl ?? config.publicUrl ?? listeningUrl,
    };
    await options.prepare?.(app);
    const built = await composeServices(app, context, identitySettings, options.services ?? defaultServices());
    composed = built;
    const { services } = built;
    for (const extension of extensions) {
      const instance = await extension.mount(extensionHost(app, context, services, extension));
      mountedExtensions.push(instance);
      if (instance.prefix !== undefined) extensionPrefixes.push(instance.prefix);
    }
    await options.extend?.(app, context, services);
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `${scheme}://${formatHost(config.host)}:${port}`;
    const warning = plainHttpWarning(config);
    if (warning) logger.warn(warning);
    listeningUrl = url;
    if (clustered) {
      if (clusterUrl === null) clusterUrl = await storedClusterUrl(db, url);
      membership = await joinCluster({ db, url, settings: sharedSettings(env, built.tokens.issuer()) });
    }
    const member = membership;
    const admin = (options.adminSocket ?? ownsDatabase) ? await openAdminChannel(context, services, built.operations, url, extensionPrefixes[0] ?? null) : null;
    const base = context.publicUrl();
    const banner = [
      `health    ${base}/health`,
      `metrics   ${base}/metrics`,
      ...built.banner(base),
      ...mountedExtensions.flatMap((extension) => extension.banner?.(base) ?? []),
      ...nextSteps({
        baseUrl: base,
        anonKey: services.identity?.apiKeys.anonKey ?? null,
        dataLocation: databaseLocation(config.database),
        adminSocket: admin?.path ?? null,
      }),
    ];
    const listening = app;
    const events = revocations;
    let closing: Promise<void> | undefined;
    return {
      url,
      app: listening,
      db,
      config,
      logger,
      services,
      adminSocket: admin?.path ?? null,
      revocations: events,
      banner,
      reloadTls() {
        if (!config.tls) return false;
        try {
          reloadTls(listening.server, config.tls);
          logger.info('TLS certificate reloaded');
          return true;
        } catch (error) {
          logger.error({ reason: (error as Error).message }, 'TLS certificate not reloaded; the previous one is still served');
          return false;
        }
      },
      close() {
        closing ??= (async () => {
          await admin?.close();
          await member?.leave();
          await listening.close();
          for (const extension of [...mountedExtensions].reverse()) await extension.close?.();
          await built.close();
          await events.close();
          await clusterBus.close();
          if (ownsDatabase) await db.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    for (const extension of mountedExtensions.reverse()) await extension.close?.().catch(() => undefined);
    await composed?.close().catch(() => undefined);
    await membership?.leave().catch(() => undefined);
    await revocations?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    if (ownsDatabase) await db.close().catch(() => undefined);
    throw error;
  }
}
