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
}

/**
 * The mail announcing an invitation. It carries no secret: accepting needs the invitee to sign in (or
 * sign up) with this address and accept from the application (`POST /auth/v1/invitations/{id}/accept`).
 */
export function composeInvitationMail(mail: InvitationMail): MailMessage {
  const subject = `You are invited to join ${mail.organizationName}`;
  const who = mail.inviterEmail ? `${mail.inviterEmail} invited you` : 'You are invited';
  const lead = `${who} to join the organization "${mail.organizationName}" as ${mail.role}.`;
  const how = `Sign in (or sign up) at ${mail.siteUrl} with this address to accept or decline. The invitation expires at ${mail.expiresAt}.`;
  const text = `${lead}\n\n${how}\n\nIf you do not know this organization, ignore this message.\n`;
  const html =
    `<h2>${escapeHtml(subject)}</h2><p>${escapeHtml(lead)}</p>` +
    `<p>Sign in (or sign up) at <a href="${escapeHtml(mail.siteUrl)}">${escapeHtml(mail.siteUrl)}</a> with this address to accept or decline. ` +
    `The invitation expires at ${escapeHtml(mail.expiresAt)}.</p><p>If you do not know this organization, ignore this message.</p>`;
  return { to: mail.to, subject, text, html };
}
