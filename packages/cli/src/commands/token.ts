/**
 * `latchkey token`: prints a valid access token, refreshing it first when it is about to expire, for
 * scripts: `curl -H "Authorization: Bearer $(latchkey token)" …`. Exit code 3 when not logged in.
 *
 * A stored token that is still valid is printed straight from the session file (atomically written,
 * so it is read without the lock); only a refresh loads the client SDK. That keeps the common case
 * close to the start-up time of Node itself.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { UserFlags } from './user-context.js';

/** Seconds before expiry at which a token counts as expired: the SDK's default `expirySkew`. */
const EXPIRY_SKEW_SECONDS = 30;

/** `LATCHKEY_SESSION_FILE`, else `$XDG_DATA_HOME/latchkey/session.json` (the SDK's `defaultSessionPath`). */
function sessionPath(env: NodeJS.ProcessEnv): string {
  if (env.LATCHKEY_SESSION_FILE) return path.resolve(env.LATCHKEY_SESSION_FILE);
  const base = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'latchkey', 'session.json');
}

interface StoredToken {
  readonly access_token: string;
  readonly token_type: string;
  readonly access_expires_at: number | null;
}

/** The stored access token when it is valid for longer than the skew; `null` for anything else. */
async function validStoredToken(env: NodeJS.ProcessEnv): Promise<StoredToken | null> {
  try {
    const stored = JSON.parse(await readFile(sessionPath(env), 'utf8')) as Partial<StoredToken>;
    const expires = stored.access_expires_at;
    if (typeof stored.access_token !== 'string' || stored.access_token === '' || typeof stored.token_type !== 'string') return null;
    if (expires !== null && (typeof expires !== 'number' || Date.now() >= expires - EXPIRY_SKEW_SECONDS * 1000)) return null;
    return { access_token: stored.access_token, token_type: stored.token_type, access_expires_at: expires };
  } catch {
    return null;
  }
}

function print(token: StoredToken, json: boolean | undefined): void {
  if (json) {
    const expiresAt = token.access_expires_at === null ? null : Math.floor(token.access_expires_at / 1000);
    process.stdout.write(`${JSON.stringify({ access_token: token.access_token, token_type: token.token_type, expires_at: expiresAt })}\n`);
  } else {
    process.stdout.write(`${token.access_token}\n`);
  }
}

export async function runToken(flags: UserFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const stored = await validStoredToken(env);
  if (stored) {
    print(stored, flags.json);
    return;
  }
  const { openUserContext, runUserCommand } = await import('./user-context.js');
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const tokens = await context.api.tokens.getTokens();
    print({ access_token: tokens.accessToken, token_type: tokens.tokenType, access_expires_at: tokens.accessExpiresAt }, flags.json);
  });
}
