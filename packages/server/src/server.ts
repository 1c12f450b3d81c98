import type { FastifyInstance } from 'fastify';
import { loadServerConfig, type Environment, type ServerConfig, type ServerFlags } from './config/index.js';
import { migrate, openDatabase, type Database } from './db/index.js';
import { databaseLocation, openAdminChannel } from './admin/index.js';
import { nextSteps } from './banner.js';
import { buildApp } from './http/app.js';
import { plainHttpWarning, readTlsMaterial, reloadTls } from './http/tls.js';
import { identityExports } from './identity/service.js';
import type { AppContext, MountedService, ServiceModule } from './http/context.js';
import { loadAccessTokenLifetime } from './identity/settings.js';
import { createLogger, type Logger } from './logging/logger.js';
import { createRevocations } from './revocation/revocations.js';
import type { Revocations } from './revocation/types.js';
import { defaultServices } from './services.js';

export interface StartOptions {
  /** Environment to read settings from. Default `process.env`. */
  readonly env?: Environment;
  readonly flags?: ServerFlags;
  /** Already-validated settings; read from `env` and `flags` when absent. */
  readonly config?: ServerConfig;
  readonly logger?: Logger;
  /** Services to mount. Default: every service of the product. */
  readonly services?: readonly ServiceModule[];
  /** An open database to use instead of the configured one (tests). Not closed by `close()`. */
  readonly database?: Database;
  /**
   * Serve the admin channel of the `latchkey` command on `<data dir>/admin.sock`. Default: true unless
   * `database` is given or the database is in memory.
   */
  readonly adminSocket?: boolean;
  /** Called with the app before it listens, to add routes (tests, embedding). */
  readonly extend?: (app: FastifyInstance, context: AppContext) => void | Promise<void>;
}

/** A running Latchkey process. */
export interface RunningServer {
  /** Base URL the server listens on, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly services: ReadonlyMap<string, MountedService>;
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
  // Unreadable or mismatched certificate files stop the start with a line naming the setting.
  const tls = config.tls ? readTlsMaterial(config.tls) : undefined;
  const ownsDatabase = options.database === undefined;
  const db = options.database ?? (await openDatabase(config));
  const mounted: MountedService[] = [];
  let app: FastifyInstance | undefined;
  let revocations: Revocations | undefined;
  try {
    await migrate(db);
    revocations = await createRevocations({
      db,
      logger: logger.child({ service: 'revocations' }),
      tokenLifetime: loadAccessTokenLifetime(env),
      redisUrl: config.redisUrl,
      channelPrefix: config.redisPrefix,
    });
    app = buildApp({ db, logger, tls });
    const scheme = tls ? 'https' : 'http';
    const services = new Map<string, MountedService>();
    let listeningUrl = `${scheme}://${formatHost(config.host)}:${config.port}`;
    const context: AppContext = { config, env, db, logger, revocations, publicUrl: () => config.publicUrl ?? listeningUrl, services };
    for (const service of options.services ?? defaultServices()) {
      const instance = await service.mount(app, context);
      services.set(service.name, instance);
      mounted.push(instance);
    }
    await options.extend?.(app, context);
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `${scheme}://${formatHost(config.host)}:${port}`;
    const warning = plainHttpWarning(config);
    if (warning) logger.warn(warning);
    listeningUrl = url;
    const admin = (options.adminSocket ?? ownsDatabase) ? await openAdminChannel(context, url) : null;
    const base = context.publicUrl();
    const banner = [
      `health    ${base}/health`,
      `metrics   ${base}/metrics`,
      ...mounted.flatMap((service) => service.banner?.(base) ?? []),
      ...nextSteps({
        baseUrl: base,
        anonKey: identityExports(context)?.apiKeys.anonKey ?? null,
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
          await listening.close();
          for (const service of [...mounted].reverse()) await service.close?.();
          await events.close();
          if (ownsDatabase) await db.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    for (const service of mounted.reverse()) await service.close?.().catch(() => undefined);
    await revocations?.close().catch(() => undefined);
    if (ownsDatabase) await db.close().catch(() => undefined);
    throw error;
  }
}
