export { mountOrganizations, type OrganizationsExports } from './service.js';
export { organizationClaimsHook } from './claims-hook.js';
export { OrganizationStore } from './store.js';
export { InvitationStore, type InvitationJson, type ReceivedInvitationJson } from './invitations.js';
export type { Actor, MemberJson, OrganizationJson, OrganizationRole } from './types.js';
