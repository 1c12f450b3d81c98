import type { Database, Queryable } from '../db/index.js';
import { IdentityError } from '../identity/index.js';
import type { RevocationEvent, RevocationInput, Revocations } from '../revocation/types.js';
import type { Actor, MemberJson, OrganizationJson, OrganizationRole } from './types.js';

type OrganizationRow = {
  id: string;
  name: string;
  created_at: Date;
  role?: OrganizationRole | null;
};

export type MemberRow = {
  organization_id: string;
  user_id: string;
  email: string | null;
  role: OrganizationRole;
  created_at: Date;
};

function organizationJson(row: OrganizationRow): OrganizationJson {
  return { id: row.id, name: row.name, created_at: row.created_at.toISOString(), ...(row.role ? { role: row.role } : {}) };
}

export function memberJson(row: MemberRow): MemberJson {
  return { organization_id: row.organization_id, user_id: row.user_id, email: row.email, role: row.role, created_at: row.created_at.toISOString() };
}

const notFound = () => new IdentityError(404, 'organization_not_found', 'Organization not found');
export const insufficientRole = (message: string) => new IdentityError(403, 'insufficient_role', message);
const lastOwner = () => new IdentityError(422, 'last_owner', 'An organization must keep at least one owner');

/**
 * Locks the organization's membership rows and returns the caller's role in it. Non-members get 404,
 * so an organization's existence is not revealed; the service role acts as an owner.
 */
export async function lockMembership(tx: Queryable, organizationId: string, actor: Actor): Promise<{ actorRole: OrganizationRole; owners: number }> {
  const { rows } = await tx.query<{ user_id: string; role: OrganizationRole }>(
    `select m.user_id, m.role from auth.organizations o
       join auth.organization_members m on m.organization_id = o.id
      where o.id = $1
      order by m.user_id
      for update of m`,
    [organizationId],
  );
  const owners = rows.filter((row) => row.role === 'owner').length;
  if (actor.kind === 'service') {
    const exists = rows.length > 0 || (await tx.query('select 1 from auth.organizations where id = $1', [organizationId])).rows.length > 0;
    if (!exists) throw notFound();
    return { actorRole: 'owner', owners };
  }
  const own = rows.find((row) => row.user_id === actor.userId);
  if (!own) throw notFound();
  return { actorRole: own.role, owners };
}

export function requireManager(role: OrganizationRole): void {
  if (role === 'member') throw insufficientRole('Only owners and admins can manage members');
}

export async function selectMember(tx: Queryable, organizationId: string, userId: string): Promise<MemberRow | undefined> {
  const { rows } = await tx.query<MemberRow>(
    `select m.organization_id, m.user_id, u.email, m.role, m.created_at
       from auth.organization_members m join auth.users u on u.id = m.user_id
      where m.organization_id = $1 and m.user_id = $2`,
    [organizationId, userId],
  );
  return rows[0];
}

/** The invitation roles each member role may send (owners and admins invite; only owners invite owners). */
const INVITABLE: Readonly<Record<OrganizationRole, readonly OrganizationRole[]>> = { owner: ['owner', 'admin', 'member'], admin: ['admin', 'member'], member: [] };

/**
 * Withdraws the pending invitations `userId` sent to the organization that `role` (`null`: no longer
 * a member) could not send now, so a removed or demoted member leaves no way back in behind them.
 */
async function withdrawInvitationsBeyond(tx: Queryable, organizationId: string, userId: string, role: OrganizationRole | null): Promise<void> {
  await tx.query(
    `update auth.organization_invitations set status = 'revoked', responded_at = now()
      where organization_id = $1 and invited_by = $2 and status = 'pending' and not (role = any($3::text[]))`,
    [organizationId, userId, role === null ? [] : INVITABLE[role]],
  );
}

/**
 * Organizations and memberships, with the role rules: only owners and admins manage members, only owners
 * make owners, the last owner stays. A removal, a role change and a deletion each record a revocation
 * event in their transaction and announce it after commit, so tokens carrying the old membership stop
 * working everywhere.
 */
export class OrganizationStore {
  readonly #db: Database;
  readonly #revocations: Revocations;

  constructor(db: Database, revocations: Revocations) {
    this.#db = db;
    this.#revocations = revocations;
  }

  /** Runs `work` in a transaction; the revocation it returns is recorded there and announced after commit. */
  async #change<T>(work: (tx: Queryable) => Promise<{ result: T; revoke: RevocationInput | null }>): Promise<T> {
    const { result, event } = await this.#db.transaction(async (tx) => {
      const { result, revoke } = await work(tx);
      const event: RevocationEvent | null = revoke ? await this.#revocations.record(tx, revoke) : null;
      return { result, event };
    });
    if (event) await this.#revocations.announce(event);
    return result;
  }

  /** Creates an organization with `ownerId` as its owner. */
  create(ownerId: string, name: string): Promise<OrganizationJson> {
    return this.#db.transaction(async (tx) => {
      const { rows } = await tx.query<OrganizationRow>(`insert into auth.organizations (name) values ($1) returning id, name, created_at`, [name]);
      const organization = rows[0]!;
      await tx.query(`insert into auth.organization_members (organization_id, user_id, role) values ($1, $2, 'owner')`, [organization.id, ownerId]);
      return organizationJson({ ...organization, role: 'owner' });
    });
  }

  /** The caller's organizations with their role; every organization for the service role. */
  async list(actor: Actor): Promise<OrganizationJson[]> {
    if (actor.kind === 'service') {
      const { rows } = await this.#db.query<OrganizationRow>(`select id, name, created_at from auth.organizations order by created_at, id`);
      return rows.map(organizationJson);
    }
    const { rows } = await this.#db.query<OrganizationRow>(
      `select o.id, o.name, o.created_at, m.role
         from auth.organization_members m join auth.organizations o on o.id = m.organization_id
        where m.user_id = $1 order by m.created_at, o.id`,
      [actor.userId],
    );
    return rows.map(organizationJson);
  }

  /** Members of an organization the caller belongs to. */
  async members(actor: Actor, organizationId: string): Promise<MemberJson[]> {
    return this.#db.transaction(async (tx) => {
      await lockMembership(tx, organizationId, actor);
      const { rows } = await tx.query<MemberRow>(
        `select m.organization_id, m.user_id, u.email, m.role, m.created_at
           from auth.organization_members m join auth.users u on u.id = m.user_id
          where m.organization_id = $1 order by m.created_at, m.user_id`,
        [organizationId],
      );
      return rows.map(memberJson);
    });
  }

  /** Whether `userId` belongs to the organization (checked inside `tx`). */
  async isMember(tx: Queryable, organizationId: string, userId: string): Promise<boolean> {
    const { rows } = await tx.query('select 1 from auth.organization_members where organization_id = $1 and user_id = $2', [organizationId, userId]);
    return rows.length > 0;
  }

  /**
   * Records, inside `tx`, that the session acts for the organization: its tokens carry it (the claims
   * hook reads it at every issuance) while the user stays a member.
   */
  async chooseForSession(tx: Queryable, sessionId: string, organizationId: string): Promise<void> {
    await tx.query(
      `insert into auth.session_organizations (session_id, organization_id) values ($1, $2)
       on conflict (session_id) do update set organization_id = excluded.organization_id`,
      [sessionId, organizationId],
    );
  }

  /** Changes a member's role. */
  updateMember(actor: Actor, organizationId: string, userId: string, role: OrganizationRole): Promise<MemberJson> {
    return this.#change(async (tx) => {
      const { actorRole, owners } = await lockMembership(tx, organizationId, actor);
      requireManager(actorRole);
      const target = await selectMember(tx, organizationId, userId);
      if (!target) throw new IdentityError(404, 'member_not_found', 'Member not found');
      if ((target.role === 'owner' || role === 'owner') && actorRole !== 'owner') throw insufficientRole('Only owners can grant or change the owner role');
      if (target.role === 'owner' && role !== 'owner' && owners <= 1) throw lastOwner();
      await tx.query(`update auth.organization_members set role = $3 where organization_id = $1 and user_id = $2`, [organizationId, userId, role]);
      await withdrawInvitationsBeyond(tx, organizationId, userId, role);
      // Tokens carry `org_role`: those with the old role end; an unchanged role ends nothing.
      const revoke = target.role === role ? null : ({ kind: 'role_changed', userId, organizationId } as const);
      return { result: memberJson({ ...target, role }), revoke };
    });
  }

  /** Removes a member; members may remove themselves (leave). */
  removeMember(actor: Actor, organizationId: string, userId: string): Promise<void> {
    return this.#change(async (tx) => {
      const { actorRole, owners } = await lockMembership(tx, organizationId, actor);
      const leaving = actor.kind === 'user' && actor.userId === userId;
      if (!leaving) requireManager(actorRole);
      const target = await selectMember(tx, organizationId, userId);
      if (!target) throw new IdentityError(404, 'member_not_found', 'Member not found');
      if (target.role === 'owner' && !leaving && actorRole !== 'owner') throw insufficientRole('Only owners can remove an owner');
      if (target.role === 'owner' && owners <= 1) throw lastOwner();
      await tx.query(`delete from auth.organization_members where organization_id = $1 and user_id = $2`, [organizationId, userId]);
      await withdrawInvitationsBeyond(tx, organizationId, userId, null);
      return { result: undefined, revoke: { kind: 'membership_removed', userId, organizationId } };
    });
  }

  /** Deletes an organization with its memberships and data; owners only (and the service role). */
  delete(actor: Actor, organizationId: string): Promise<void> {
    return this.#change(async (tx) => {
      const { actorRole } = await lockMembership(tx, organizationId, actor);
      if (actorRole !== 'owner') throw insufficientRole('Only owners can delete an organization');
      const { rowCount } = await tx.query('delete from auth.organizations where id = $1', [organizationId]);
      if (rowCount === 0) throw notFound();
      return { result: undefined, revoke: { kind: 'organization_deleted', organizationId } };
    });
  }
}
