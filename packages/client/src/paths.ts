import os from 'node:os';
import path from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where the CLI keeps the session: `$XDG_DATA_HOME/latchkey/session.json`, by default
 * `~/.local/share/latchkey/session.json` (tokens are data, not configuration). `LATCHKEY_SESSION_FILE`
 * overrides it.
 */
export function defaultSessionPath(env: Env = process.env): string {
  if (env.LATCHKEY_SESSION_FILE) return path.resolve(env.LATCHKEY_SESSION_FILE);
  const base = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'latchkey', 'session.json');
}

/**
 * Where the CLI remembers the server it logged in to: `$XDG_CONFIG_HOME/latchkey/config.json`, by
 * default `~/.config/latchkey/config.json`.
 */
export function defaultConfigPath(env: Env = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'latchkey', 'config.json');
}
