/** Decoding an access token's claims for display (no verification: the server already verified it). */

export function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

/** What each claim of a Latchkey access token means. */
export const CLAIM_HELP: Readonly<Record<string, string>> = {
  iss: 'Issuer: the identity service that signed the token.',
  sub: 'Subject: your user id.',
  aud: 'Audience: who the token is for ("authenticated" users).',
  exp: 'Expiry (seconds since 1970): after it, resource servers refuse the token.',
  iat: 'Issued at.',
  email: 'Your e-mail address.',
  phone: 'Your phone number, when you have one.',
  role: 'Database role the token acts as: "authenticated" for users.',
  aal: 'Authenticator assurance level: aal1 after one factor, aal2 after a second.',
  amr: 'How you authenticated in this session, and when.',
  session_id: 'Your session; ending it makes every token of it useless.',
  is_anonymous: 'Whether the account is anonymous.',
  app_metadata: 'Set by the server: providers, and your current organization and role in it.',
  user_metadata: 'Data you may change yourself.',
};
