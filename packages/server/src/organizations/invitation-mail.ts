import type { MailMessage } from '../mail/index.js';
import type { OrganizationRole } from './types.js';

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** What an invitation mail says. */
export interface InvitationMail {
  readonly to: string;
  readonly organizationName: string;
  readonly role: OrganizationRole;
  readonly inviterEmail: string | null;
  readonly expiresAt: string;
  /** Where the application lives (the site URL). */
  readonly siteUrl: string;
  readonly invitationId: string;
  /** The secret that proves the mailbox: answering needs it. */
  readonly token: string;
}

/** The accept link: the site URL with `invitation_id` and `invitation_token` in the fragment (never sent to a server). */
export function invitationLink(siteUrl: string, invitationId: string, token: string): string {
  const url = new URL(siteUrl);
  url.hash = new URLSearchParams({ invitation_id: invitationId, invitation_token: token }).toString();
  return url.toString();
}

/**
 * The mail announcing an invitation. It carries the invitation's secret token, as a code and inside the
 * accept link: answering (`POST /auth/v1/invitations/{id}/accept {token}`) needs it together with the
 * invitee's own session for this address, so an account with the address alone is not enough.
 */
export function composeInvitationMail(mail: InvitationMail): MailMessage {
  const subject = `You are invited to join ${mail.organizationName}`;
  const who = mail.inviterEmail ? `${mail.inviterEmail} invited you` : 'You are invited';
  const lead = `${who} to join the organization "${mail.organizationName}" as ${mail.role}.`;
  const link = invitationLink(mail.siteUrl, mail.invitationId, mail.token);
  const how = `Open ${link} and sign in (or sign up) with this address to accept or decline, or enter the invitation code: ${mail.token} . The invitation expires at ${mail.expiresAt}.`;
  const text = `${lead}\n\n${how}\n\nDo not share this code. If you do not know this organization, ignore this message.\n`;
  const html =
    `<h2>${escapeHtml(subject)}</h2><p>${escapeHtml(lead)}</p>` +
    `<p><a href="${escapeHtml(link)}">Accept or decline</a> after signing in (or signing up) with this address, or enter the invitation code: <code>${escapeHtml(mail.token)}</code>. ` +
    `The invitation expires at ${escapeHtml(mail.expiresAt)}.</p><p>Do not share this code. If you do not know this organization, ignore this message.</p>`;
  return { to: mail.to, subject, text, html };
}
