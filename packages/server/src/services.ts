import type { ServiceModule } from './http/context.js';

/** Every service `latchkey serve` mounts, in order (later ones may use earlier ones). */
export function defaultServices(): ServiceModule[] {
  return [];
}
