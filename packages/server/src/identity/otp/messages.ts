import type { MailMessage } from '../../mail/index.js';

/** The kinds of mail the identity service sends. */
export type MailKind = 'signup' | 'magiclink' | 'recovery';

const SUBJECTS: Record<MailKind, string> = {
  signup: 'Confirm your signup',
  magiclink: 'Your sign-in link',
  recovery: 'Reset your password',
};

const LEADS: Record<MailKind, string> = {
  signup: 'Follow this link to confirm your email address:',
  magiclink: 'Follow this link to sign in:',
  recovery: 'Follow this link to reset your password:',
};

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A mail carrying both the link and the six-digit code (either completes the sign-in). */
export function composeMail(kind: MailKind, to: string, link: string, otp: string): MailMessage {
  const text = `${LEADS[kind]}\n\n${link}\n\nOr enter this code: ${otp}\n\nIf you did not ask for this, ignore this message.\n`;
  const html =
    `<h2>${SUBJECTS[kind]}</h2><p>${LEADS[kind]}</p><p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>` +
    `<p>Or enter this code: <strong>${otp}</strong></p><p>If you did not ask for this, ignore this message.</p>`;
  return { to, subject: SUBJECTS[kind], text, html };
}
