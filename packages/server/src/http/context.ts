import type { Environment, ServerConfig } from '../config/index.js';
import type { Database } from '../db/index.js';
import type { Logger } from '../logging/logger.js';
import type { ClusterBus } from '../cluster/index.js';
import type { Revocations } from '../revocation/types.js';

/** What every service receives when it is mounted, besides the services it depends on. */
export interface AppContext {
  readonly config: ServerConfig;
  /** The raw environment, for services that read their own settings. */
  readonly env: Environment;
  readonly db: Database;
  readonly logger: Logger;
  /**
   * Session end as events, one instance per process: services that end sessions or grants record an
   * event in the same transaction and announce it after commit; the gateway and the revocation feed
   * subscribe. Stored in the database and broadcast through Redis when `REDIS_URL` is set.
   */
  readonly revocations: Revocations;
  /**
   * Base URL clients reach this process at, without a trailing slash: `LATCHKEY_PUBLIC_URL` when set,
   * otherwise the listening address (known once the server listens; call it per request).
   */
  publicUrl(): string;
  /**
   * Base URL that names the whole deployment (the `iss` of tokens): `LATCHKEY_PUBLIC_URL` when set; on
   * PostgreSQL otherwise the address the deployment's first node listened on, stored in the database;
   * on the embedded database this process's address. Absent: {@link AppContext.publicUrl}.
   */
  clusterUrl?(): string;
  /** Messages every node acts on (signing keys changed), through Redis when `REDIS_URL` is set. Absent: this process only. */
  readonly cluster?: ClusterBus;
}

/**
 * A service once mounted: what it offers the services built after it (typed, handed to them as
 * arguments by the composition root), its banner lines, and how to stop it.
 */
export interface MountedService<TExports> {
  /** What the service offers the services built after it (for example the identity service's key store). */
  readonly exports: TExports;
  /** Lines for the start banner given the base URL, e.g. `identity  http://127.0.0.1:8000/auth/v1`. */
  banner?(baseUrl: string): readonly string[];
  /** Stops background work; called on shutdown after the server stops accepting requests. */
  close?(): Promise<void>;
}
