/**
 * The composition root: builds the services of one process in dependency order, each given what it needs
 * as typed arguments — identity first (its settings, key store and sessions), then organizations on
 * identity, the gateway on identity's tokens, webhooks and the console on those before them. A service that does not run here is `null`, and the ones after it do without it.
 *
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { serverOperations, type AdminOperations } from './admin/index.js';
import { mountConsole, type ConsoleExports, type ConsoleServiceOptions } from './console/index.js';
import { mountGateway, type GatewayExports, type GatewayServiceOptions } from './gateway/index.js';
import type { AppContext, MountedService } from './http/context.js';
import { identityTokens, mountIdentity, type IdentityExports, type IdentityTokens } from './identity/service.js';
import type { IdentitySettings } from './identity/settings.js';
import { mountOrganizations, type OrganizationsExports } from './organizations/service.js';
import { mountWebhooks, type WebhooksExports } from './webhooks/index.js';

/**
 * Which services a process runs. A service left out (or `false`) does not run; `true` runs it with its
 * defaults, an object with those options. Organizations need the identity service in the same process.
 *
 * @example
 * ```ts
 * // A gateway node beside identity nodes on the same PostgreSQL and Redis:
 * await startServer({ services: { gateway: true } });
 * ```
 */
export interface ServiceSelection {
  /** The identity service at `/auth/v1`. */
  readonly identity?: boolean;
  /** Organizations and invitations under `/auth/v1/organizations` (needs `identity`). */
  readonly organizations?: boolean;
  /** The realtime gateway at `/connection/websocket` and its server API. */
  readonly gateway?: boolean | GatewayServiceOptions;
  /** Inbound webhooks at `/webhooks/<name>`. */
  readonly webhooks?: boolean;
  /** The demo app at `/` and the admin console at `/admin`. */
  readonly console?: boolean | ConsoleServiceOptions;
}

/** The services running in this process, each `null` when it does not run here. */
export interface Services {
  readonly identity: IdentityExports | null;
  readonly organizations: OrganizationsExports | null;
  readonly gateway: GatewayExports | null;
  readonly webhooks: WebhooksExports | null;
  readonly console: ConsoleExports | null;
}

/** Options of {@link defaultServices} that come from command-line flags. */
export interface ServiceFlags {
  /** Centrifugo JSON config file for the gateway (`--gateway-config`). */
  readonly gatewayConfig?: string | undefined;
}

/** Every service `latchkey serve` runs. */
export function defaultServices(flags: ServiceFlags = {}): ServiceSelection {
  return {
    identity: true,
    organizations: true,
    gateway: flags.gatewayConfig ? { configFile: flags.gatewayConfig } : true,
    webhooks: true,
    console: true,
  };
}

/** The services of one process, built. */
export interface ComposedServices {
  readonly services: Services;
  /** The identity service's tokens, as every service that verifies them sees them. */
  readonly tokens: IdentityTokens;
  /** The admin operations of this server (the `latchkey` command's channel and the console). */
  readonly operations: AdminOperations;
  /** Banner lines of every service given the base URL, in build order. */
  banner(baseUrl: string): readonly string[];
  /** Stops every service, the last built first. */
  close(): Promise<void>;
}

function optionsOf<T extends object>(selected: boolean | T | undefined): T | null {
  if (selected === undefined || selected === false) return null;
  return selected === true ? ({} as T) : selected;
}

/**
 * Builds the selected services on `app` in dependency order. `settings` are the validated identity
 * settings (the one source of token rules for identity, gateway and API). When a service fails to start,
 * those already built are stopped and the error is thrown.
 */
export async function composeServices(app: FastifyInstance, context: AppContext, settings: IdentitySettings, selection: ServiceSelection): Promise<ComposedServices> {
  const built: MountedService<unknown>[] = [];
  const mount = async <T>(service: Promise<MountedService<T>>): Promise<T> => {
    const mounted = await service;
    built.push(mounted);
    return mounted.exports;
  };
  const close = async () => {
    for (const service of [...built].reverse()) await service.close?.();
  };
  try {
    const identity = selection.identity ? await mount(mountIdentity(app, context, settings)) : null;
    if (selection.organizations && !identity) throw new Error('the organizations service needs the identity service in the same process');
    const organizations = selection.organizations && identity ? await mount(mountOrganizations(app, context, identity)) : null;
    const tokens = identity?.tokens ?? identityTokens(settings, context);
    const gatewayOptions = optionsOf(selection.gateway);
    const gateway = gatewayOptions ? await mount(mountGateway(app, context, { tokens, identity, options: gatewayOptions })) : null;
    const webhooks = selection.webhooks ? await mount(mountWebhooks(app, context, { identity, gateway })) : null;
    const operations = serverOperations(context, settings, identity);
    const consoleOptions = optionsOf(selection.console);
    const pages = consoleOptions ? await mount(mountConsole(app, context, { identity, gateway, operations, options: consoleOptions })) : null;
    return {
      services: { identity, organizations, gateway, webhooks, console: pages },
      tokens,
      operations,
      banner: (baseUrl) => built.flatMap((service) => service.banner?.(baseUrl) ?? []),
      close,
    };
  } catch (error) {
    for (const service of built.reverse()) await service.close?.().catch(() => undefined);
    throw error;
  }
}
