import { ConfigError, parseBoolean, readSetting, type Environment } from '../../config/index.js';

/** How long audit entries are kept and whether they are written. */
export interface AuditSettings {
  /**
   * Entries older than this many seconds are deleted (`LATCHKEY_AUDIT_RETENTION`: seconds, or a
   * duration like `720h`, `90d`; `0` keeps them forever). Default 90 days.
   */
  readonly retentionSeconds: number;
  /**
   * Write entries to the database (`LATCHKEY_AUDIT_LOG_DISABLE_POSTGRES` /
   * `GOTRUE_AUDIT_LOG_DISABLE_POSTGRES` turn it off). Default true.
   */
  readonly enabled: boolean;
}

const DEFAULT_RETENTION_SECONDS = 90 * 86_400;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Reads {@link AuditSettings}; a bad value throws `ConfigError` naming the variable. */
export function loadAuditSettings(env: Environment): AuditSettings {
  const retention = readSetting(env, ['LATCHKEY_AUDIT_RETENTION']);
  let retentionSeconds = DEFAULT_RETENTION_SECONDS;
  if (retention) {
    const match = /^(\d+)(s|m|h|d)?$/.exec(retention.value);
    if (!match) throw new ConfigError(retention.name, `must be a number of seconds or a duration like 720h, 90d; 0 keeps entries forever (got ${JSON.stringify(retention.value)})`);
    retentionSeconds = Number(match[1]) * UNIT_SECONDS[match[2] ?? 's']!;
  }
  const disabled = readSetting(env, ['LATCHKEY_AUDIT_LOG_DISABLE_POSTGRES', 'GOTRUE_AUDIT_LOG_DISABLE_POSTGRES']);
  return { retentionSeconds, enabled: disabled ? !parseBoolean(disabled) : true };
}
