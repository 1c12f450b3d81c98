import type { ServiceModule } from './http/context.js';
import { gatewayService } from './gateway/index.js';
import { identityService } from './identity/index.js';
import { organizationsService } from './organizations/index.js';
import { consoleService } from './console/index.js';
import { webhooksService } from './webhooks/index.js';

/** Options of {@link defaultServices} that come from command-line flags. */
export interface ServiceFlags {
  /** Centrifugo JSON config file for the gateway (`--gateway-config`). */
  readonly gatewayConfig?: string | undefined;
}

/** Every service `latchkey serve` mounts, in order (later ones may use earlier ones). Apps such as the example API are extensions (`StartOptions.extensions`). */
export function defaultServices(flags: ServiceFlags = {}): ServiceModule[] {
  return [identityService, organizationsService, gatewayService(flags.gatewayConfig ? { configFile: flags.gatewayConfig } : {}), webhooksService, consoleService()];
}
