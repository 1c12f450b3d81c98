import { authenticator } from 'otplib';
import QRCode from 'qrcode';

/**
 * TOTP as GoTrue configures it (RFC 6238: SHA-1, 6 digits, 30-second steps). A code of the previous or
 * next step is accepted too, for clock drift; the step a code belongs to is returned so that callers can
 * refuse a second use of the same step.
 */
export const TOTP_PERIOD_SECONDS = 30;

const totp = authenticator.clone({ step: TOTP_PERIOD_SECONDS, digits: 6, window: 1 });

/** A new base32 secret (160 bits, as RFC 4226 recommends). */
export function newTotpSecret(): string {
  return totp.generateSecret(20);
}

/** The `otpauth://` URI an authenticator app reads from the QR code. */
export function totpUri(secret: string, account: string, issuer: string): string {
  return totp.keyuri(account, issuer, secret);
}

/** The QR code of `uri` as an SVG document (GoTrue sends it raw; supabase-js turns it into a data URI). */
export function qrCodeSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 3 });
}

/** The time step of `code` for `secret` at `now`, or `null` when the code is wrong (or malformed). */
export function totpStep(code: string, secret: string, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totp.clone({ epoch: now }).checkDelta(code, secret);
  if (delta === null) return null;
  return Math.floor(now / 1000 / TOTP_PERIOD_SECONDS) + delta;
}
