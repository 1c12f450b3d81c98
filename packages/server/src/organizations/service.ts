import type { FastifyInstance } from 'fastify';
import { parseSeconds, readSetting } from '../config/index.js';
import type { AppContext, MountedService } from '../http/context.js';
import { IDENTITY_PREFIX, type IdentityExports } from '../identity/index.js';
import { organizationClaimsHook } from './claims-hook.js';
import { registerInvitationRoutes, registerReceivedInvitationRoutes } from './invitation-routes.js';
import { InvitationStore } from './invitations.js';
import { registerOrganizationRoutes } from './routes.js';
import { OrganizationStore } from './store.js';

/** What the organizations service offers the services built after it. */
export interface OrganizationsExports {
  readonly store: OrganizationStore;
  readonly invitations: InvitationStore;
}

/** Seconds an invitation may be accepted (`LATCHKEY_INVITATION_EXPIRY`, default 7 days). */
const DEFAULT_INVITATION_EXPIRY = 7 * 24 * 3600;

/**
 * Organizations and memberships under `/auth/v1/organizations`, built on `identity`; puts the current
 * organization and the caller's role in it into every access token's `app_metadata`.
 */
export async function mountOrganizations(app: FastifyInstance, context: AppContext, identity: IdentityExports): Promise<MountedService<OrganizationsExports>> {
  const expirySetting = readSetting(context.env, ['LATCHKEY_INVITATION_EXPIRY']);
  const expiry = expirySetting ? parseSeconds(expirySetting, { min: 60, max: 365 * 24 * 3600 }) : DEFAULT_INVITATION_EXPIRY;
  const store = new OrganizationStore(context.db, context.revocations);
  const invitations = new InvitationStore(context.db, expiry);
  const logger = context.logger.child({ service: 'organizations' });
  const siteUrl = () => identity.settings.siteUrl ?? context.publicUrl();
  identity.addClaimsHook(organizationClaimsHook);
  await app.register(
    async (scope) => {
      identity.prepareScope(scope);
      registerOrganizationRoutes(scope, { identity, store });
      registerInvitationRoutes(scope, { identity, invitations, logger, siteUrl });
    },
    { prefix: `${IDENTITY_PREFIX}/organizations` },
  );
  await app.register(
    async (scope) => {
      identity.prepareScope(scope);
      registerReceivedInvitationRoutes(scope, { identity, invitations });
    },
    { prefix: `${IDENTITY_PREFIX}/invitations` },
  );
  return { exports: { store, invitations } };
}

