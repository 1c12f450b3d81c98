import { isIP } from 'node:net';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { parseBoolean, parseChoice, parseInteger, parseSeconds, parseUrl, readSetting, type Environment, type RawSetting } from './settings.js';

/** Where the data lives: embedded PGlite (on disk or in memory) or a PostgreSQL server. */
export type DatabaseTarget =
  | { readonly kind: 'pglite'; readonly dataDir: string | null }
  | { readonly kind: 'postgres'; readonly url: string };

/** PEM files of the certificate chain and private key served for HTTPS and WSS, with the settings that named them. */
export interface TlsFiles {
  readonly cert: RawSetting;
  readonly key: RawSetting;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Process-level settings shared by every service. */
export interface ServerConfig {
  /** Listen address. Default `127.0.0.1`. */
  readonly host: string;
  /** Listen port; 0 picks a free one. Default `8000`. */
  readonly port: number;
  /** Public base URL used in links and the banner. Default `http://HOST:PORT`. */
  readonly publicUrl: string | null;
  /** Folder for the embedded database and generated keys. Default `./.latchkey`. */
  readonly dataDir: string;
  readonly database: DatabaseTarget;
  /** Redis for multi-node fan-out; `null` keeps the broker in process. */
  readonly redisUrl: string | null;
  /** Prefix of this deployment's Redis channels, so several can share one Redis. Default `latchkey`. */
  readonly redisPrefix: string;
  /** PostgreSQL pool size. Default 10. */
  readonly databasePoolSize: number;
  /** Seconds to wait for the database at start before giving up. Default 5. */
  readonly databaseConnectTimeout: number;
  /** Seconds granted to in-flight requests on shutdown. Default 10. */
  readonly shutdownTimeout: number;
  readonly logLevel: LogLevel;
  /** HTTPS and WSS on the listen port (`LATCHKEY_TLS_CERT` / `LATCHKEY_TLS_KEY`); `null` serves plain HTTP. */
  readonly tls: TlsFiles | null;
  /**
   * A TLS-terminating proxy stands in front (`LATCHKEY_TRUST_PROXY`, or trusted proxies listed in
   * `LATCHKEY_TRUSTED_PROXIES`): no warning for plain HTTP on a non-loopback address.
   */
  readonly behindProxy: boolean;
}

/** Values given on the command line; they win over the environment. */
export interface ServerFlags {
  readonly host?: string | undefined;
  readonly port?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Reads and validates the process settings. Throws {@link ConfigError} naming the first bad variable.
 *
 * @example
 * ```ts
 * const config = loadServerConfig(process.env, { port: '9000' });
 * ```
 */
export function loadServerConfig(env: Environment, flags: ServerFlags = {}): ServerConfig {
  const hostSetting = flags.host !== undefined ? { name: '--host', value: flags.host } : readSetting(env, ['HOST', 'LATCHKEY_HOST']);
  const host = hostSetting?.value ?? '127.0.0.1';
  if (hostSetting && host !== 'localhost' && isIP(host) === 0 && !/^[a-zA-Z0-9.-]+$/.test(host)) {
    throw new ConfigError(hostSetting.name, `must be an IP address or host name (got ${JSON.stringify(host)})`);
  }

  const portSetting = flags.port !== undefined ? { name: '--port', value: flags.port } : readSetting(env, ['PORT', 'LATCHKEY_PORT']);
  const port = portSetting ? parseInteger(portSetting, { min: 0, max: 65535 }) : 8000;

  const dataDirSetting = flags.dataDir !== undefined ? { name: '--data-dir', value: flags.dataDir } : readSetting(env, ['LATCHKEY_DATA_DIR']);
  const dataDir = path.resolve(dataDirSetting?.value ?? '.latchkey');

  const databaseSetting =
    flags.databaseUrl !== undefined ? { name: '--database-url', value: flags.databaseUrl } : readSetting(env, ['DATABASE_URL', 'LATCHKEY_DATABASE_URL']);
  let database: DatabaseTarget = { kind: 'pglite', dataDir: path.join(dataDir, 'pgdata') };
  if (databaseSetting) {
    if (databaseSetting.value === 'memory://') database = { kind: 'pglite', dataDir: null };
    else {
      const url = parseUrl(databaseSetting, ['postgres', 'postgresql', 'memory', 'file']);
      if (url.protocol === 'file:') database = { kind: 'pglite', dataDir: decodeURIComponent(url.pathname) };
      else if (url.protocol === 'memory:') database = { kind: 'pglite', dataDir: null };
      else database = { kind: 'postgres', url: databaseSetting.value };
    }
  }

  const redisSetting = readSetting(env, ['REDIS_URL', 'LATCHKEY_REDIS_URL']);
  const redisUrl = redisSetting ? parseUrl(redisSetting, ['redis', 'rediss']).toString() : null;

  const redisPrefixSetting = readSetting(env, ['LATCHKEY_REDIS_PREFIX']);
  if (redisPrefixSetting && !/^[A-Za-z0-9._:-]{1,100}$/.test(redisPrefixSetting.value)) {
    throw new ConfigError(redisPrefixSetting.name, 'must be 1 to 100 letters, digits, dots, colons, dashes or underscores');
  }

  const poolSetting = readSetting(env, ['LATCHKEY_DATABASE_POOL_SIZE']);
  const connectTimeoutSetting = readSetting(env, ['LATCHKEY_DATABASE_CONNECT_TIMEOUT']);
  const shutdownSetting = readSetting(env, ['LATCHKEY_SHUTDOWN_TIMEOUT']);
  const logLevelSetting = readSetting(env, ['LOG_LEVEL', 'LATCHKEY_LOG_LEVEL']);
  const publicUrlSetting = readSetting(env, ['LATCHKEY_PUBLIC_URL', 'API_EXTERNAL_URL']);

  const certSetting = flags.tlsCert !== undefined ? { name: '--tls-cert', value: flags.tlsCert } : readSetting(env, ['LATCHKEY_TLS_CERT']);
  const keySetting = flags.tlsKey !== undefined ? { name: '--tls-key', value: flags.tlsKey } : readSetting(env, ['LATCHKEY_TLS_KEY']);
  if (certSetting && !keySetting) throw new ConfigError(certSetting.name === '--tls-cert' ? '--tls-key' : 'LATCHKEY_TLS_KEY', `is required with ${certSetting.name}`);
  if (keySetting && !certSetting) throw new ConfigError(keySetting.name === '--tls-key' ? '--tls-cert' : 'LATCHKEY_TLS_CERT', `is required with ${keySetting.name}`);
  const trustProxySetting = readSetting(env, ['LATCHKEY_TRUST_PROXY']);
  const behindProxy = (trustProxySetting ? parseBoolean(trustProxySetting) : false) || readSetting(env, ['LATCHKEY_TRUSTED_PROXIES']) !== undefined;

  return {
    host,
    port,
    publicUrl: publicUrlSetting ? parseUrl(publicUrlSetting, ['http', 'https']).toString().replace(/\/$/, '') : null,
    dataDir,
    database,
    redisUrl,
    redisPrefix: redisPrefixSetting?.value ?? 'latchkey',
    databasePoolSize: poolSetting ? parseInteger(poolSetting, { min: 1, max: 500 }) : 10,
    databaseConnectTimeout: connectTimeoutSetting ? parseSeconds(connectTimeoutSetting, { min: 0.1, max: 300 }) : 5,
    shutdownTimeout: shutdownSetting ? parseSeconds(shutdownSetting, { min: 0, max: 600 }) : 10,
    logLevel: logLevelSetting ? parseChoice(logLevelSetting, LOG_LEVELS) : 'info',
    tls: certSetting && keySetting ? { cert: certSetting, key: keySetting } : null,
    behindProxy,
  };
}
