import type { Queryable } from '../db/index.js';
import type { ClaimsHook } from '../identity/index.js';

/**
 * Organizations chosen for sessions being opened right now, keyed by the transaction opening them
 * (`POST /organizations/{id}/switch`). The claims hook reads it within the same transaction.
 */
const pendingSwitches = new WeakMap<Queryable, string>();

/** Marks `tx` as opening a session that acts for `organizationId`. */
export function chooseOrganizationFor(tx: Queryable, organizationId: string): void {
  pendingSwitches.set(tx, organizationId);
}

type CurrentMembership = {
  readonly organization_id: string;
  readonly role: string;
};

/**
 * Puts the session's organization and the user's role in it into `app_metadata`
 * (`organization_id`, `org_role`) at every issuance, refreshes included, so claims follow the
 * memberships: the session's chosen organization while the user is still a member of it, otherwise
 * the user's oldest membership. Users without memberships keep `app_metadata` exactly as stored.
 */
export const organizationClaimsHook: ClaimsHook = async ({ user_id: userId, claims }, { db }) => {
  const sessionId = typeof claims.session_id === 'string' && claims.session_id !== '' ? claims.session_id : null;
  const switching = pendingSwitches.get(db);
  if (switching && sessionId) {
    await db.query(
      `insert into auth.session_organizations (session_id, organization_id) values ($1, $2)
       on conflict (session_id) do update set organization_id = excluded.organization_id`,
      [sessionId, switching],
    );
  }
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
