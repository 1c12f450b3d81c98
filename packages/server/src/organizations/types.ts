/** A member's role in an organization, most powerful first. */
export type OrganizationRole = 'owner' | 'admin' | 'member';

export const ORGANIZATION_ROLES: readonly OrganizationRole[] = ['owner', 'admin', 'member'];

/** An organization as the API returns it, with the caller's role when listed for a user. */
export interface OrganizationJson {
  readonly id: string;
  readonly name: string;
  readonly created_at: string;
  readonly role?: OrganizationRole;
}

/** A membership as the API returns it. */
export interface MemberJson {
  readonly organization_id: string;
  readonly user_id: string;
  readonly email: string | null;
  readonly role: OrganizationRole;
  readonly created_at: string;
}

/** Who is asking: a user (with their id) or the service role, which may act on any organization. */
export type Actor = { readonly kind: 'user'; readonly userId: string } | { readonly kind: 'service' };
