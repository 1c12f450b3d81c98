/**
 * What the user commands (`login`, `logout`, `token`, `whoami`, `call`, `rpc`, `listen`) share: where
 * the server is, where the session lives, and how client errors become exit codes.
 *
 * - Server URL: `--url`, else `LATCHKEY_URL`, else the URL remembered at login, else
 *   `http://127.0.0.1:8000`.
 * - Anon key: `--anon-key`, else `LATCHKEY_ANON_KEY`, else the one remembered at login. It is optional:
 *   sent as `apikey` when known, for gateways that demand it; Latchkey itself does not.
 * - Session: `$XDG_DATA_HOME/latchkey/session.json` (default `~/.local/share/latchkey/session.json`;
 *   `LATCHKEY_SESSION_FILE` overrides), mode 0600, shared safely by concurrent processes.
 * - Remembered server: `$XDG_CONFIG_HOME/latchkey/config.json` (default `~/.config/latchkey/config.json`).
 *
 * @module
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  HttpError,
  LatchkeyApi,
  NotLoggedInError,
  ReauthRequiredError,
  StoreLockTimeoutError,
  TokenEndpointError,
  TokenEndpointUnavailableError,
  InvalidTokenResponseError,
} from '@latchkey/client';
import { defaultConfigPath, defaultSessionPath, FileTokenStore } from '@latchkey/client/node';
import { CliError, ExitCode } from '../exit-codes.js';

export const DEFAULT_URL = 'http://127.0.0.1:8000';

/** Error codes of API answers that mean the session cannot be used (exit code 3). */
const AUTH_ERRORS = new Set(['no_authorization', 'bad_jwt', 'session_not_found', 'user_not_found']);

/** Flags every user command accepts. */
export interface UserFlags {
  readonly url?: string;
  readonly anonKey?: string;
  readonly json?: boolean;
}

/** The server a login was made against, remembered for later commands. */
export interface SavedConfig {
  readonly url?: string;
  readonly anon_key?: string;
}

export interface UserContext {
  readonly url: string;
  readonly anonKey: string | undefined;
  readonly api: LatchkeyApi;
  readonly store: FileTokenStore;
  readonly configPath: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Reads the remembered server; a missing or unreadable file is an empty config. */
export async function readSavedConfig(file: string): Promise<SavedConfig> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    const record = parsed as Record<string, unknown>;
    return {
      ...(typeof record.url === 'string' ? { url: record.url } : {}),
      ...(typeof record.anon_key === 'string' ? { anon_key: record.anon_key } : {}),
    };
  } catch {
    return {};
  }
}

/** Remembers the server (atomically; 0600 in a 0700 directory). */
export async function writeSavedConfig(file: string, config: SavedConfig): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await fs.writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await fs.rename(temporary, file);
}

/** A server base URL from a flag or variable, without a trailing slash; exit 2 naming `source` when it is not http(s). */
export function parseBaseUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`${source}: not a URL (got ${JSON.stringify(value)})`, ExitCode.Usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`${source}: must be an http or https URL`, ExitCode.Usage);
  return url.toString().replace(/\/+$/, '');
}

/** Resolves the server, the anon key and the session store from flags, environment and saved config. */
export async function openUserContext(flags: UserFlags, env: NodeJS.ProcessEnv = process.env): Promise<UserContext> {
  const configPath = defaultConfigPath(env);
  const saved = await readSavedConfig(configPath);
  const url = flags.url
    ? parseBaseUrl(flags.url, '--url')
    : env.LATCHKEY_URL
      ? parseBaseUrl(env.LATCHKEY_URL, 'LATCHKEY_URL')
      : saved.url
        ? parseBaseUrl(saved.url, configPath)
        : DEFAULT_URL;
  const anonKey = flags.anonKey || env.LATCHKEY_ANON_KEY || saved.anon_key || undefined;
  const store = new FileTokenStore(defaultSessionPath(env), {
    onWarning: (line) => process.stderr.write(`${line}\n`),
  });
  const api = new LatchkeyApi(url, { anonKey, store });
  return { url, anonKey, api, store, configPath, env };
}

/** Maps the SDK's errors to one line and the documented exit code. */
export function toCliError(error: unknown, url?: string): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof NotLoggedInError) return new CliError('not logged in; run `latchkey login`', ExitCode.AuthRequired);
  if (error instanceof ReauthRequiredError) return new CliError(`${error.message} (run \`latchkey login\`)`, ExitCode.AuthRequired);
  if (error instanceof TokenEndpointError) {
    if (error.status === 404) return new CliError(`the server has no such token endpoint (HTTP 404); is --url right?`, ExitCode.Failure);
    return new CliError(`login refused: ${error.errorDescription ?? `${error.error} (HTTP ${error.status})`}`, ExitCode.AuthRequired);
  }
  if (error instanceof TokenEndpointUnavailableError) return new CliError(`identity service unavailable: ${error.message}`, ExitCode.Failure);
  if (error instanceof InvalidTokenResponseError) return new CliError(error.message, ExitCode.Failure);
  if (error instanceof StoreLockTimeoutError) return new CliError(error.message, ExitCode.Failure);
  if (error instanceof HttpError) {
    const authFailure = error.status === 401 || (error.error !== undefined && AUTH_ERRORS.has(error.error));
    return new CliError(error.message, authFailure ? ExitCode.AuthRequired : ExitCode.Failure);
  }
  if (error instanceof TypeError && /fetch failed/.test(error.message)) {
    return new CliError(`cannot reach ${url ?? 'the server'}`, ExitCode.Failure);
  }
  return error;
}

/** Runs a user command body, converting SDK errors into CLI errors. */
export async function runUserCommand(url: string | undefined, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    throw toCliError(error, url);
  }
}

/** Prints one JSON value on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
