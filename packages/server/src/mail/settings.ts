import { ConfigError, parseInteger, readSetting, type Environment } from '../config/index.js';

/** SMTP delivery settings; without a host, mail goes to the development outbox in the database. */
export interface MailSettings {
  /** `LATCHKEY_SMTP_HOST` / `GOTRUE_SMTP_HOST`. Default none (outbox). */
  readonly host: string | null;
  /** `LATCHKEY_SMTP_PORT` / `GOTRUE_SMTP_PORT`. Default 587 (465 means implicit TLS). */
  readonly port: number;
  /** `LATCHKEY_SMTP_USER` / `GOTRUE_SMTP_USER`. Default none (no AUTH). */
  readonly user: string | null;
  /** `LATCHKEY_SMTP_PASS` / `GOTRUE_SMTP_PASS`. */
  readonly pass: string | null;
  /** Sender address, `LATCHKEY_SMTP_ADMIN_EMAIL` / `GOTRUE_SMTP_ADMIN_EMAIL`. Default `no-reply@localhost`. */
  readonly from: string;
  /** Sender name, `LATCHKEY_SMTP_SENDER_NAME` / `GOTRUE_SMTP_SENDER_NAME`. Default `Latchkey`. */
  readonly senderName: string;
}

/** Reads the mail settings; a port outside 1–65535 or a user without a password is a {@link ConfigError}. */
export function loadMailSettings(env: Environment): MailSettings {
  const host = readSetting(env, ['LATCHKEY_SMTP_HOST', 'GOTRUE_SMTP_HOST']);
  const port = readSetting(env, ['LATCHKEY_SMTP_PORT', 'GOTRUE_SMTP_PORT']);
  const user = readSetting(env, ['LATCHKEY_SMTP_USER', 'GOTRUE_SMTP_USER']);
  const pass = readSetting(env, ['LATCHKEY_SMTP_PASS', 'GOTRUE_SMTP_PASS']);
  const from = readSetting(env, ['LATCHKEY_SMTP_ADMIN_EMAIL', 'GOTRUE_SMTP_ADMIN_EMAIL']);
  if (user && !pass) throw new ConfigError(user.name, 'is set but the SMTP password (LATCHKEY_SMTP_PASS / GOTRUE_SMTP_PASS) is not');
  if (from && !/^[^\s@]+@[^\s@]+$/.test(from.value)) throw new ConfigError(from.name, 'must be an email address');
  return {
    host: host?.value ?? null,
    port: port ? parseInteger(port, { min: 1, max: 65535 }) : 587,
    user: user?.value ?? null,
    pass: pass?.value ?? null,
    from: from?.value ?? 'no-reply@localhost',
    senderName: readSetting(env, ['LATCHKEY_SMTP_SENDER_NAME', 'GOTRUE_SMTP_SENDER_NAME'])?.value ?? 'Latchkey',
  };
}
