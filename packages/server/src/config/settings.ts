import { ConfigError } from './errors.js';

/** Environment as handed to the process (`process.env`). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A raw value and the name it was read under, so errors can name the right variable. */
export interface RawSetting {
  readonly name: string;
  readonly value: string;
}

/**
 * Reads the first non-empty variable among `names` (for example `LATCHKEY_JWT_EXPIRY` then
 * `GOTRUE_JWT_EXP`). Returns `undefined` when none is set.
 */
export function readSetting(env: Environment, names: readonly string[]): RawSetting | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value: value.trim() };
  }
  return undefined;
}

export interface IntegerRule {
  readonly min?: number;
  readonly max?: number;
}

/** Parses a whole number, or throws a {@link ConfigError} naming the variable. */
export function parseInteger(setting: RawSetting, rule: IntegerRule = {}): number {
  const { name, value } = setting;
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be a whole number (got ${JSON.stringify(value)})`);
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new ConfigError(name, `is out of range (got ${JSON.stringify(value)})`);
  if (rule.min !== undefined && parsed < rule.min) throw new ConfigError(name, `must be at least ${rule.min} (got ${parsed})`);
  if (rule.max !== undefined && parsed > rule.max) throw new ConfigError(name, `must be at most ${rule.max} (got ${parsed})`);
  return parsed;
}

/** Parses a duration given in whole seconds; GoTrue-style `10s`, `5m`, `1h` suffixes are also accepted. */
export function parseSeconds(setting: RawSetting, rule: IntegerRule = {}): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(setting.value);
  if (!match) throw new ConfigError(setting.name, `must be a number of seconds or a duration like 10s, 5m, 1h (got ${JSON.stringify(setting.value)})`);
  const amount = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = unit === 'ms' ? 0.001 : unit === 's' ? 1 : unit === 'm' ? 60 : 3600;
  const seconds = amount * factor;
  if (rule.min !== undefined && seconds < rule.min) throw new ConfigError(setting.name, `must be at least ${rule.min} seconds (got ${setting.value})`);
  if (rule.max !== undefined && seconds > rule.max) throw new ConfigError(setting.name, `must be at most ${rule.max} seconds (got ${setting.value})`);
  return seconds;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** Parses a boolean (`true/false`, `1/0`, `yes/no`, `on/off`). */
export function parseBoolean(setting: RawSetting): boolean {
  const lowered = setting.value.toLowerCase();
  if (TRUE.has(lowered)) return true;
  if (FALSE.has(lowered)) return false;
  throw new ConfigError(setting.name, `must be true or false (got ${JSON.stringify(setting.value)})`);
}

/** Parses an absolute URL whose scheme is one of `schemes`. */
export function parseUrl(setting: RawSetting, schemes: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(setting.value);
  } catch {
    throw new ConfigError(setting.name, 'must be an absolute URL');
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!schemes.includes(scheme)) throw new ConfigError(setting.name, `must use one of ${schemes.map((s) => `${s}://`).join(', ')} (got ${scheme}://)`);
  return url;
}

/** Parses one of a fixed set of words. */
export function parseChoice<T extends string>(setting: RawSetting, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(setting.value)) return setting.value as T;
  throw new ConfigError(setting.name, `must be one of ${choices.join(', ')} (got ${JSON.stringify(setting.value)})`);
}

/** Parses a comma-separated list, dropping empty items. */
export function parseList(setting: RawSetting): string[] {
  return setting.value.split(',').map((item) => item.trim()).filter((item) => item !== '');
}
