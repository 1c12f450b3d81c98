/**
 * The extension point of `startServer`: an app mounted into the Latchkey process (the example notes
 * API, or an app team's own) gets the HTTP app, the database, the token settings, the revocation
 * events and the realtime gateway through a typed host, and brings its own SQL migrations.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { ClaimsDatabase } from '@latchkey/verify';
import { inProcessRevocationSource, type RevocationSource } from '@latchkey/verify/revocations';
import { migrate, type Migration, type MigrationReport } from './db/migrate.js';
import type { Database } from './db/types.js';
import { RpcError } from './gateway/rpc/errors.js';
import type { AppContext } from './http/context.js';
import type { Services } from './composition.js';
import { buildOpenApiDocument } from './organizations/openapi.js';

/** The logging calls an extension may make (the server's pino logger). */
export interface ExtensionLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

/** How to verify this deployment's access tokens with `createVerifier` of `@latchkey/verify`. */
export interface ExtensionTokenSettings {
  /** The identity service's JWKS URL (known once the server listens: call it at first use). */
  jwksUrl(): string;
  /** The `iss` of access tokens. */
  issuer(): string;
  /** The `aud` of access tokens. */
  readonly audience: string;
  /** The legacy HS256 secret (`LATCHKEY_JWT_SECRET`) when set, else `null`. */
  readonly secret: string | null;
  /** The service_role API key: a bearer that stands for the service role. */
  readonly serviceRoleKey: string;
}

/** The claims of a realtime connection (`null` for anonymous connections). */
export type ExtensionConnectionClaims = Readonly<Record<string, unknown>> | null;

/** The realtime gateway as an extension uses it. */
export interface ExtensionRealtime {
  /** Publishes `data` (any JSON value) to `channel` on every node. */
  publish(channel: string, data: unknown): Promise<void>;
  /** Registers an RPC method clients call with `centrifuge.rpc(method, data)`. */
  registerRpc(method: string, handler: (data: unknown, caller: { readonly user: string; readonly claims: ExtensionConnectionClaims }) => Promise<unknown>): void;
  /** The error an RPC handler throws to answer with an application `code` (400–1999) and `message`. */
  error(code: number, message: string): Error;
}

/** What the server lends an extension when mounting it. */
export interface ExtensionHost {
  /** The server's HTTP app: register routes under the extension's own prefix. */
  readonly app: FastifyInstance;
  /** The server's database; `withClaims(db, claims, work)` of `@latchkey/verify` runs work under row-level security. */
  readonly db: ClaimsDatabase;
  readonly logger: ExtensionLogger;
  /** Base URL clients reach this process at (known once the server listens: call it per request). */
  publicUrl(): string;
  readonly tokens: ExtensionTokenSettings;
  /** A source of this deployment's session-end events for `createRevocationFeed({ source })` (each call a new one). */
  revocationSource(): RevocationSource;
  /** The public OpenAPI document of the identity service's organization endpoints. */
  identityOpenApi(): Record<string, unknown>;
  /** The realtime gateway, or `null` when it is not mounted. */
  readonly realtime: ExtensionRealtime | null;
}

/** An extension once mounted. */
export interface MountedExtension {
  /** Path the extension serves under, e.g. `/api/v1` (reported by `latchkey status`). */
  readonly prefix?: string;
  /** Lines for the start banner given the base URL. */
  banner?(baseUrl: string): readonly string[];
  /** Stops background work; called on shutdown after the server stops accepting requests. */
  close?(): Promise<void>;
}

/**
 * An app mounted into the server with `startServer({ extensions: [...] })`, after the product's
 * services. Its migrations run after the product's, each once per database, recorded as
 * `<name>:<version>`.
 */
export interface ServerExtension {
  /** Lower-case name, unique among the extensions (`[a-z0-9-]+`); prefixes its migrations' versions. */
  readonly name: string;
  /** Ordered SQL migrations, applied before `mount`. */
  readonly migrations?: readonly Migration[];
  mount(host: ExtensionHost): Promise<MountedExtension>;
}

/** Error codes of {@link ExtensionError}. */
export type ExtensionErrorCode = 'ERR_EXTENSION_NAME' | 'ERR_EXTENSION_NEEDS_IDENTITY';

/** An extension cannot be mounted: a bad or repeated name, or a service it needs is not mounted. */
export class ExtensionError extends Error {
  override readonly name = 'ExtensionError';
  readonly code: ExtensionErrorCode;
  constructor(code: ExtensionErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Checks the names of `extensions`: well-formed and unique. */
export function checkExtensionNames(extensions: readonly ServerExtension[]): void {
  const seen = new Set<string>();
  for (const { name } of extensions) {
    if (!NAME.test(name)) throw new ExtensionError('ERR_EXTENSION_NAME', `extension name ${JSON.stringify(name)} must be lower-case letters, digits and dashes`);
    if (seen.has(name)) throw new ExtensionError('ERR_EXTENSION_NAME', `two extensions are named ${name}`);
    seen.add(name);
  }
}

/** Applies the pending migrations of `extension`, recorded with the version `<name>:<version>`. */
export function migrateExtension(db: Database, extension: ServerExtension): Promise<MigrationReport> {
  const migrations = (extension.migrations ?? []).map((migration) => ({ ...migration, version: `${extension.name}:${migration.version}` }));
  return migrate(db, migrations);
}

/** The host an extension is mounted with, from the running services. */
export function extensionHost(app: FastifyInstance, context: AppContext, services: Services, extension: ServerExtension): ExtensionHost {
  const { identity, gateway } = services;
  if (!identity) throw new ExtensionError('ERR_EXTENSION_NEEDS_IDENTITY', `extension ${extension.name} needs the identity service mounted`);
  const logger = context.logger.child({ service: extension.name });
  return {
    app,
    db: context.db,
    logger: {
      info: (details, message) => logger.info(details, message),
      warn: (details, message) => logger.warn(details, message),
      error: (details, message) => logger.error(details, message),
    },
    publicUrl: () => context.publicUrl(),
    tokens: {
      jwksUrl: identity.tokens.jwksUrl,
      issuer: identity.tokens.issuer,
      audience: identity.tokens.audience,
      secret: identity.tokens.secret,
      serviceRoleKey: identity.apiKeys.serviceRoleKey,
    },
    revocationSource: () => inProcessRevocationSource(context.revocations),
    identityOpenApi: () => buildOpenApiDocument(context.publicUrl()),
    realtime: gateway
      ? {
          publish: (channel, data) => gateway.publish(channel, data),
          registerRpc: (method, handler) => gateway.registerRpc(method, (data, caller) => handler(data, { user: caller.user, claims: caller.claims })),
          error: (code, message) => new RpcError(code, message),
        }
      : null,
  };
}
