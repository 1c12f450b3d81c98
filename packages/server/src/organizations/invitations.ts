import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database, Queryable } from '../db/index.js';
import { IdentityError } from '../identity/index.js';
import { insufficientRole, lockMembership, memberJson, requireManager, selectMember } from './store.js';
import type { Actor, MemberJson, OrganizationRole } from './types.js';

/** An invitation as its organization's owners and admins see it. */
export interface InvitationJson {
  readonly id: string;
  readonly organization_id: string;
  readonly email: string;
  readonly role: OrganizationRole;
  readonly invited_by: string | null;
  /** `pending` until accepted, declined or revoked; `expired` once past `expires_at` unanswered. */
  readonly status: 'pending' | 'expired';
  readonly created_at: string;
  readonly expires_at: string;
}

/**
 * An invitation as the holder of an account with the address sees it (`GET /invitations`). Such an
 * account proves no ownership of the mailbox (e-mail autoconfirm), so it shows only what the mail says
 * anyway and nothing that helps join: no inviter, no organization id.
 */
export interface ReceivedInvitationJson {
  readonly id: string;
  readonly organization_name: string;
  readonly role: OrganizationRole;
  readonly expires_at: string;
}

/** What the inviter's answer and the mail need. */
export interface CreatedInvitation {
  readonly invitation: InvitationJson;
  readonly organizationName: string;
  readonly inviterEmail: string | null;
  /**
   * The new secret token to mail to the address, or `null` when no mail goes out (one went out less
   * than a minute ago: its token stays valid).
   */
  readonly mailToken: string | null;
}

type InvitationRow = {
  id: string;
  organization_id: string;
  email: string;
  role: OrganizationRole;
  invited_by: string | null;
  status: 'pending' | 'accepted' | 'declined' | 'revoked';
  created_at: Date;
  expires_at: Date;
};

/** What answering an invitation checks besides the row. */
type SecretRow = InvitationRow & { token_digest: Uint8Array | null; failed_attempts: number };

const COLUMNS = 'i.id, i.organization_id, i.email, i.role, i.invited_by, i.status, i.created_at, i.expires_at';

function invitationJson(row: InvitationRow, now: number): InvitationJson {
  return {
    id: row.id,
    organization_id: row.organization_id,
    email: row.email,
    role: row.role,
    invited_by: row.invited_by,
    status: row.expires_at.getTime() <= now ? 'expired' : 'pending',
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at.toISOString(),
  };
}

/** Least time between two mails for one invitation. */
const MAIL_INTERVAL_SECONDS = 60;

/** Wrong tokens after which an invitation is withdrawn. */
const MAX_TOKEN_ATTEMPTS = 5;

function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function tokenMatches(token: string, stored: Uint8Array | null): boolean {
  const given = tokenDigest(token);
  return stored !== null && stored.length === given.length && timingSafeEqual(given, stored);
}

const invitationNotFound = () => new IdentityError(404, 'invitation_not_found', 'Invitation not found');

/** Who answers an invitation: the signed-in user and their confirmed e-mail (`null` when unconfirmed). */
export interface Invitee {
  readonly userId: string;
  readonly email: string | null;
}

/**
 * Invitations to organizations: owners and admins invite an address, the person holding an account with
 * that confirmed address accepts or declines; the membership exists only after acceptance.
 */
export class InvitationStore {
  readonly #db: Database;
  readonly #expirySeconds: number;
  readonly #now: () => number;

  /** @param expirySeconds how long an invitation may be accepted. */
  constructor(db: Database, expirySeconds: number, now: () => number = Date.now) {
    this.#db = db;
    this.#expirySeconds = expirySeconds;
    this.#now = now;
  }

  /**
   * Invites `email` with `role` (owners and admins; only owners invite owners). The work does not
   * depend on whether an account has the address: a known and an unknown address get the same answer.
   * Inviting an address that has a pending invitation renews it (mailing again at most once a minute). 422 `member_exists` when a member of
   * the organization already has the address (the caller can list members anyway).
   */
  create(actor: Actor, organizationId: string, email: string, role: OrganizationRole): Promise<CreatedInvitation> {
    return this.#db.transaction(async (tx) => {
      const { actorRole } = await lockMembership(tx, organizationId, actor);
      requireManager(actorRole);
      if (role === 'owner' && actorRole !== 'owner') throw insufficientRole('Only owners can invite owners');
      const { rows: context } = await tx.query<{ name: string; member: boolean; inviter_email: string | null }>(
        `select o.name,
                exists (select 1 from auth.organization_members m join auth.users u on u.id = m.user_id
                         where m.organization_id = o.id and u.email = $2) as member,
                (select email from auth.users where id = $3::uuid) as inviter_email
           from auth.organizations o where o.id = $1`,
        [organizationId, email, actor.kind === 'user' ? actor.userId : null],
      );
      const facts = context[0]!;
      if (facts.member) throw new IdentityError(422, 'member_exists', 'User is already a member of this organization');
      // A new token goes out with every new mail; without a mail the last one mailed stays valid.
      const token = randomBytes(16).toString('base64url');
      const mailDue = `i.mailed_at <= now() - interval '${MAIL_INTERVAL_SECONDS} seconds'`;
      const { rows } = await tx.query<InvitationRow & { mail: boolean }>(
        `insert into auth.organization_invitations as i (organization_id, email, role, invited_by, expires_at, token_digest)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (organization_id, email) where status = 'pending'
         do update set role = excluded.role, invited_by = excluded.invited_by, created_at = now(), expires_at = excluded.expires_at,
                       token_digest = case when ${mailDue} then excluded.token_digest else i.token_digest end,
                       failed_attempts = case when ${mailDue} then 0 else i.failed_attempts end,
                       mailed_at = case when ${mailDue} then now() else i.mailed_at end
         returning ${COLUMNS}, i.mailed_at = now() as mail`,
        [organizationId, email, role, actor.kind === 'user' ? actor.userId : null, new Date(this.#now() + this.#expirySeconds * 1000), tokenDigest(token)],
      );
      const row = rows[0]!;
      return { invitation: invitationJson(row, this.#now()), organizationName: facts.name, inviterEmail: facts.inviter_email, mailToken: row.mail ? token : null };
    });
  }

  /** Pending invitations of an organization, expired ones included (owners and admins). */
  list(actor: Actor, organizationId: string): Promise<InvitationJson[]> {
    return this.#db.transaction(async (tx) => {
      const { actorRole } = await lockMembership(tx, organizationId, actor);
      requireManager(actorRole);
      const { rows } = await tx.query<InvitationRow>(
        `select ${COLUMNS} from auth.organization_invitations i where i.organization_id = $1 and i.status = 'pending' order by i.created_at, i.id`,
        [organizationId],
      );
      return rows.map((row) => invitationJson(row, this.#now()));
    });
  }

  /** Withdraws a pending invitation (owners and admins); 404 `invitation_not_found` otherwise. */
  revoke(actor: Actor, organizationId: string, invitationId: string): Promise<void> {
    return this.#db.transaction(async (tx) => {
      const { actorRole } = await lockMembership(tx, organizationId, actor);
      requireManager(actorRole);
      const { rowCount } = await tx.query(
        `update auth.organization_invitations set status = 'revoked', responded_at = now() where id = $1 and organization_id = $2 and status = 'pending'`,
        [invitationId, organizationId],
      );
      if (rowCount === 0) throw invitationNotFound();
    });
  }

  /** The invitee's pending, unexpired invitations; none until their address is confirmed. */
  async received(invitee: Invitee): Promise<ReceivedInvitationJson[]> {
    if (invitee.email === null) return [];
    const { rows } = await this.#db.query<InvitationRow & { organization_name: string }>(
      `select ${COLUMNS}, o.name as organization_name
         from auth.organization_invitations i
         join auth.organizations o on o.id = i.organization_id
        where i.email = $1 and i.status = 'pending' and i.expires_at > $2
        order by i.created_at, i.id`,
      [invitee.email, new Date(this.#now())],
    );
    return rows.map((row) => ({ id: row.id, organization_name: row.organization_name, role: row.role, expires_at: row.expires_at.toISOString() }));
  }

  /**
   * Accepts an invitation addressed to the invitee, given the token from its mail: the membership is
   * created (a current member keeps their role). 404 `invitation_not_found` for an id that is not theirs,
   * a wrong token (the fifth withdraws the invitation) or a withdrawn invitation; with the right token,
   * 422 `invitation_expired`, 422 `invitation_already_used` once accepted or declined.
   */
  accept(invitee: Invitee, invitationId: string, token: string): Promise<MemberJson> {
    return this.#answer(invitee, invitationId, token, async (tx, invitation) => {
      await tx.query(`insert into auth.organization_members (organization_id, user_id, role) values ($1, $2, $3) on conflict do nothing`, [
        invitation.organization_id,
        invitee.userId,
        invitation.role,
      ]);
      await tx.query(`update auth.organization_invitations set status = 'accepted', responded_at = now() where id = $1`, [invitation.id]);
      return memberJson((await selectMember(tx, invitation.organization_id, invitee.userId))!);
    });
  }

  /** Declines an invitation addressed to the invitee (same token and refusals as {@link InvitationStore.accept}). */
  decline(invitee: Invitee, invitationId: string, token: string): Promise<void> {
    return this.#answer(invitee, invitationId, token, async (tx, invitation) => {
      await tx.query(`update auth.organization_invitations set status = 'declined', responded_at = now() where id = $1`, [invitation.id]);
    });
  }

  /** Runs `act` on the invitation if the invitee may answer it; a wrong token is counted (committed) and refused. */
  async #answer<T>(invitee: Invitee, invitationId: string, token: string, act: (tx: Queryable, invitation: InvitationRow) => Promise<T>): Promise<T> {
    const outcome = await this.#db.transaction(async (tx): Promise<{ readonly value: T } | null> => {
      const invitation = await this.#answerable(tx, invitee, invitationId, token);
      return invitation ? { value: await act(tx, invitation) } : null;
    });
    if (!outcome) throw invitationNotFound();
    return outcome.value;
  }

  /** Locks the invitation if the invitee may still answer it; `null` after counting a wrong token. */
  async #answerable(tx: Queryable, invitee: Invitee, invitationId: string, token: string): Promise<InvitationRow | null> {
    if (invitee.email === null) throw invitationNotFound();
    const { rows } = await tx.query<SecretRow>(
      `select ${COLUMNS}, i.token_digest, i.failed_attempts from auth.organization_invitations i where i.id = $1 and i.email = $2 for update`,
      [invitationId, invitee.email],
    );
    const invitation = rows[0];
    if (!invitation || invitation.status === 'revoked') throw invitationNotFound();
    if (!tokenMatches(token, invitation.token_digest)) {
      if (invitation.status !== 'pending') throw invitationNotFound();
      await tx.query(
        `update auth.organization_invitations
            set failed_attempts = failed_attempts + 1,
                status = case when failed_attempts + 1 >= $2 then 'revoked' else status end,
                responded_at = case when failed_attempts + 1 >= $2 then now() else responded_at end
          where id = $1`,
        [invitation.id, MAX_TOKEN_ATTEMPTS],
      );
      return null;
    }
    if (invitation.status !== 'pending') throw new IdentityError(422, 'invitation_already_used', 'Invitation has already been answered');
    if (invitation.expires_at.getTime() <= this.#now()) throw new IdentityError(422, 'invitation_expired', 'Invitation has expired');
    return invitation;
  }
}
