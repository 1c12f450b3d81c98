import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { IdentityError, Messages } from '../errors.js';
import type { IdentitySettings } from '../settings.js';
import { isBanned, type UserRow } from '../users.js';
import * as users from '../store/users.js';
import * as identities from '../store/identities.js';
import { deleteUserTokens } from '../store/one-time-tokens.js';
import type { ProviderEmail, ProviderProfile } from './providers.js';

/** What the account matching needs to know of the service's settings. */
export type AccountSettings = Pick<IdentitySettings, 'audience' | 'defaultRole' | 'disableSignup' | 'mailerAutoconfirm'>;

/** The address an account is created with: a verified primary, else any verified one, else the primary. */
function candidateEmail(emails: readonly ProviderEmail[]): ProviderEmail | undefined {
  return (
    emails.find((email) => email.primary && email.verified) ??
    emails.find((email) => email.verified) ??
    emails.find((email) => email.primary) ??
    emails[emails.length - 1]
  );
}

function needsVerification(provider: string): IdentityError {
  return new IdentityError(422, 'provider_email_needs_verification', `Unverified email with ${provider}. Verify the email with ${provider} in order to sign in`);
}

/** GoTrue's identity data: the provider's claims with the chosen address and whether it is verified. */
function identityData(profile: ProviderProfile): Record<string, unknown> {
  const chosen = candidateEmail(profile.emails);
  const data: Record<string, unknown> = { ...profile.claims, sub: profile.subject, email_verified: chosen?.verified ?? false, phone_verified: false };
  if (chosen) data.email = chosen.email.toLowerCase();
  return data;
}

async function insertIdentity(tx: Queryable, userId: string, provider: string, profile: ProviderProfile, data: Record<string, unknown>): Promise<string> {
  const id = randomUUID();
  await identities.insertProviderIdentity(tx, { id, userId, provider, subject: profile.subject, data });
  return id;
}

/** The account a sign-in resolved to, and what happened to it (for the audit log). */
export interface ResolvedAccount {
  readonly userId: string;
  /** `created`: a new account; `linked`: a new identity joined it; `known`: the identity was known. */
  readonly outcome: 'created' | 'linked' | 'known';
  /** The new identity's row id (`created` and `linked`). */
  readonly identityId?: string;
}

/**
 * Links an identity to an existing account whose address the provider verified. An account whose own
 * address was never confirmed loses its password and email identity first: whoever signed it up
 * without owning the address cannot keep a way in (GoTrue's pre-account-takeover rule).
 */
async function linkByEmail(tx: Queryable, user: UserRow, provider: string, profile: ProviderProfile, data: Record<string, unknown>): Promise<ResolvedAccount> {
  if (!user.email_confirmed_at) {
    await identities.deleteEmailIdentity(tx, user.id);
    await users.clearPasswordConfirmingEmail(tx, user.id);
  }
  const identityId = await insertIdentity(tx, user.id, provider, profile, data);
  await users.syncProviders(tx, user.id, provider, data);
  return { userId: user.id, outcome: 'linked', identityId };
}

async function createAccount(tx: Queryable, settings: AccountSettings, provider: string, profile: ProviderProfile, data: Record<string, unknown>): Promise<ResolvedAccount> {
  if (settings.disableSignup) throw new IdentityError(422, 'signup_disabled', Messages.signupDisabled);
  const chosen = candidateEmail(profile.emails);
  if (!chosen) throw new IdentityError(500, 'unexpected_failure', 'Error getting user email from external provider');
  const email = chosen.email.toLowerCase();
  // An unverified address never joins an existing account, and opens a new one only under autoconfirm.
  if (!chosen.verified) {
    const taken = await users.findUsersByEmails(tx, [email]);
    if (taken.length > 0 || !settings.mailerAutoconfirm) throw needsVerification(provider);
  }
  const id = randomUUID();
  await users.insertProviderAccount(tx, { audience: settings.audience, role: settings.defaultRole }, { id, email, provider, data });
  return { userId: id, outcome: 'created', identityId: await insertIdentity(tx, id, provider, profile, data) };
}

/**
 * Linking to an account without an address (an anonymous one, say): the account takes the provider's
 * address when the provider verified it, and stops being anonymous. 422
 * `provider_email_needs_verification` when it did not; 422 `email_exists` when another account has it.
 */
async function adoptEmail(tx: Queryable, userId: string, provider: string, profile: ProviderProfile): Promise<void> {
  if ((await users.currentEmail(tx, userId)) !== null) return;
  const chosen = candidateEmail(profile.emails);
  if (!chosen) return;
  if (!chosen.verified) throw needsVerification(provider);
  const email = chosen.email.toLowerCase();
  if ((await users.findUsersByEmails(tx, [email])).length > 0) throw new IdentityError(422, 'email_exists', Messages.emailExists);
  await users.adoptConfirmedEmail(tx, userId, email);
}

/**
 * After an identity was unlinked: when no remaining identity carries the account's address, the account
 * takes the address of a remaining one (provider-verified first, then unverified, then oldest) that no
 * other account uses; pending one-time tokens end. The address stays confirmed only when the provider
 * verified it or autoconfirm is on. 422 `email_conflict_identity_not_deletable` when every candidate is taken.
 */
export async function promoteEmailAfterUnlink(tx: Queryable, userId: string, autoconfirm: boolean): Promise<void> {
  const current = (await users.currentEmail(tx, userId)) ?? null;
  if (current === null) return;
  const candidates = await identities.identityEmails(tx, userId);
  if (candidates.some((identity) => identity.email === current)) return;
  let chosen: { email: string | null; verified: boolean } | undefined;
  for (const identity of candidates) {
    if (!identity.email || !(await users.emailTaken(tx, identity.email, userId))) {
      chosen = identity;
      break;
    }
  }
  if (!chosen) throw new IdentityError(422, 'email_conflict_identity_not_deletable', 'Unable to unlink identity due to email conflict');
  const email = chosen.email === '' ? null : chosen.email;
  const confirmed = email !== null && (chosen.verified || autoconfirm);
  await deleteUserTokens(tx, userId);
  await users.replaceEmail(tx, userId, email, confirmed);
}

function refuseBanned(user: Pick<UserRow, 'banned_until'> | undefined): void {
  if (user && isBanned(user)) throw new IdentityError(403, 'user_banned', Messages.userBanned);
}

/**
 * The account a provider's user signs in to, inside `tx`:
 *  - linking (`linkIdentity`): the identity joins the signed-in user, unless it already belongs to
 *    someone (422 `identity_already_exists`);
 *  - an identity already known (same provider and subject): its user, identity data refreshed;
 *  - else an account whose address matches one the provider VERIFIED: the identity is linked to it;
 *  - else a new account. An unverified address never matches an existing account: such a sign-in is
 *    refused with 422 `provider_email_needs_verification`, as it is without autoconfirm.
 * Banned users are refused (403 `user_banned`); new accounts need sign-ups enabled (422 `signup_disabled`).
 */
export async function resolveAccount(
  tx: Queryable,
  settings: AccountSettings,
  provider: string,
  profile: ProviderProfile,
  linkingTargetId: string | null,
): Promise<ResolvedAccount> {
  const data = identityData(profile);
  const owner = await identities.identityOwner(tx, provider, profile.subject);
  if (linkingTargetId !== null) {
    if (owner !== null) {
      throw new IdentityError(422, 'identity_already_exists', owner === linkingTargetId ? 'Identity is already linked' : 'Identity is already linked to another user');
    }
    const identityId = await insertIdentity(tx, linkingTargetId, provider, profile, data);
    await adoptEmail(tx, linkingTargetId, provider, profile);
    await users.syncProviders(tx, linkingTargetId, provider);
    return { userId: linkingTargetId, outcome: 'linked', identityId };
  }
  if (owner !== null) {
    const ban = await users.liveUserBan(tx, owner);
    if (!ban) throw new IdentityError(404, 'user_not_found', Messages.userNotFound);
    refuseBanned(ban);
    await identities.setIdentityData(tx, provider, profile.subject, data);
    await users.syncProviders(tx, owner, provider, data);
    return { userId: owner, outcome: 'known' };
  }
  const verified = [...new Set(profile.emails.filter((email) => email.verified).map((email) => email.email.toLowerCase()))];
  const matches = await users.findUsersByEmails(tx, verified);
  if (matches.length > 1) throw new IdentityError(500, 'unexpected_failure', 'Multiple accounts with the same email address in the same linking domain detected: default');
  if (matches.length === 1) {
    refuseBanned(matches[0]);
    return linkByEmail(tx, matches[0]!, provider, profile, data);
  }
  return createAccount(tx, settings, provider, profile, data);
}
