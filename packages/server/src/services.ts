import type { ServiceModule } from './http/context.js';
import { identityService } from './identity/index.js';

/** Every service `latchkey serve` mounts, in order (later ones may use earlier ones). */
export function defaultServices(): ServiceModule[] {
  return [identityService];
}
