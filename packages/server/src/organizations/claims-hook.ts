import type { ClaimsHook } from '../identity/index.js';

type CurrentMembership = {
  readonly organization_id: string;
  readonly role: string;
};

/**
 * Puts the session's organization and the user's role in it into `app_metadata`
 * (`organization_id`, `org_role`) at every issuance, refreshes included, so claims follow the
 * memberships: the session's chosen organization while the user is still a member of it, otherwise
 * the user's oldest membership (a switch records the chosen one, `auth.session_organizations`, before
 * the hook runs). Users without memberships keep `app_metadata` exactly as stored.
 */
export const organizationClaimsHook: ClaimsHook = async ({ user_id: userId, claims }, { db }) => {
  const sessionId = typeof claims.session_id === 'string' && claims.session_id !== '' ? claims.session_id : null;
  const { rows } = await db.query<CurrentMembership>(
    `select m.organization_id, m.role
       from auth.organization_members m
       left join auth.session_organizations so on so.session_id = $2::uuid and so.organization_id = m.organization_id
      where m.user_id = $1
      order by (so.session_id is not null) desc, m.created_at, m.organization_id
      limit 1`,
    [userId, sessionId],
  );
  const current = rows[0];
  if (!current) return { claims };
  return {
    claims: {
      ...claims,
      app_metadata: { ...claims.app_metadata, organization_id: current.organization_id, org_role: current.role },
    },
  };
};
