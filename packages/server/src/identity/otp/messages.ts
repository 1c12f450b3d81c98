import type { MailMessage } from '../../mail/index.js';

/** The kinds of mail the identity service sends. */
export type MailKind = 'signup' | 'invite' | 'magiclink' | 'recovery' | 'email_change' | 'reauthentication';

const SUBJECTS: Record<MailKind, string> = {
  signup: 'Confirm your signup',
  invite: 'You have been invited',
  magiclink: 'Your sign-in link',
  recovery: 'Reset your password',
  email_change: 'Confirm email change',
  reauthentication: 'Confirm reauthentication',
};

const LEADS: Record<MailKind, string> = {
  signup: 'Follow this link to confirm your email address:',
  invite: 'You have been invited to create an account. Follow this link to accept the invitation:',
  magiclink: 'Follow this link to sign in:',
  recovery: 'Follow this link to reset your password:',
  email_change: 'Follow this link to confirm the change of your account\'s email address (both the old and the new address confirm):',
  reauthentication: 'Enter this code to confirm it is you:',
};

const IGNORE = 'If you did not ask for this, ignore this message.';

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A mail carrying both the link and the six-digit code (either completes the step). */
export function composeMail(kind: MailKind, to: string, link: string, otp: string): MailMessage {
  const text = `${LEADS[kind]}\n\n${link}\n\nOr enter this code: ${otp}\n\n${IGNORE}\n`;
  const html =
    `<h2>${SUBJECTS[kind]}</h2><p>${LEADS[kind]}</p><p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>` +
    `<p>Or enter this code: <strong>${otp}</strong></p><p>${IGNORE}</p>`;
  return { to, subject: SUBJECTS[kind], text, html };
}

/** A mail carrying only the six-digit code (a reauthentication nonce). */
export function composeCodeMail(kind: MailKind, to: string, otp: string): MailMessage {
  const text = `${LEADS[kind]}\n\ncode: ${otp}\n\n${IGNORE}\n`;
  const html = `<h2>${SUBJECTS[kind]}</h2><p>${LEADS[kind]}</p><p>code: <strong>${otp}</strong></p><p>${IGNORE}</p>`;
  return { to, subject: SUBJECTS[kind], text, html };
}
