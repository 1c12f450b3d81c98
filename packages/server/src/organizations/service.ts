import type { FastifyInstance } from 'fastify';
import type { AppContext, MountedService, ServiceModule } from '../http/context.js';
import { IDENTITY_PREFIX, identityExports } from '../identity/index.js';
import { organizationClaimsHook } from './claims-hook.js';
import { registerOrganizationRoutes } from './routes.js';
import { OrganizationStore } from './store.js';

/** What the organizations service offers the services mounted after it. */
export interface OrganizationsExports {
  readonly store: OrganizationStore;
}

async function mount(app: FastifyInstance, context: AppContext): Promise<MountedService> {
  const identity = identityExports(context);
  if (!identity) throw new Error('the organizations service needs the identity service mounted before it');
  const store = new OrganizationStore(context.db, context.revocations);
  identity.addClaimsHook(organizationClaimsHook);
  await app.register(
    async (scope) => {
      identity.prepareScope(scope);
      registerOrganizationRoutes(scope, { identity, store });
    },
    { prefix: `${IDENTITY_PREFIX}/organizations` },
  );
  const exports: OrganizationsExports = { store };
  return { name: 'organizations', exports };
}

/**
 * Organizations and memberships under `/auth/v1/organizations`; puts the current organization and
 * the caller's role in it into every access token's `app_metadata`.
 */
export const organizationsService: ServiceModule = { name: 'organizations', mount };
