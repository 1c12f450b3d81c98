import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** How the console reaches the admin API on behalf of one signed-in operator. */
export type ConsoleCredential =
  | { readonly kind: 'service_key'; readonly key: string }
  | { readonly kind: 'user'; readonly email: string; access: string; refresh: string; accessExpiresAt: number };

/** One console sign-in: kept on the server, named by the cookie. */
export interface ConsoleSession {
  readonly credential: ConsoleCredential;
  /** The CSRF token every API call must carry in `x-csrf-token`. */
  readonly csrf: string;
  expiresAt: number;
}

/** Idle lifetime of a console session (ms): 8 hours. */
export const CONSOLE_SESSION_IDLE_MS = 8 * 3600 * 1000;
/** Most console sessions held at once; the oldest goes first. */
const MAX_SESSIONS = 1000;

function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/**
 * The console's sessions, in memory (a restart signs operators out). Held by id digest, so a heap dump
 * does not hand out cookies.
 */
export class ConsoleSessions {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Opens a session; returns the cookie value and the session. */
  open(credential: ConsoleCredential): { id: string; session: ConsoleSession } {
    const id = randomBytes(32).toString('base64url');
    const session: ConsoleSession = { credential, csrf: randomBytes(24).toString('base64url'), expiresAt: this.#now() + CONSOLE_SESSION_IDLE_MS };
    if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    this.#sessions.set(digest(id), session);
    return { id, session };
  }

  /** The live session named by `id`, its idle time restarted; `undefined` when unknown or expired. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const key = digest(id);
    const session = this.#sessions.get(key);
    if (!session) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(key);
      return undefined;
    }
    session.expiresAt = this.#now() + CONSOLE_SESSION_IDLE_MS;
    return session;
  }

  close(id: string | undefined): void {
    if (id) this.#sessions.delete(digest(id));
  }
}

/** Compares a presented CSRF token with the session's in constant time. */
export function csrfMatches(session: ConsoleSession, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented === '') return false;
  const a = Buffer.from(digest(presented));
  const b = Buffer.from(digest(session.csrf));
  return timingSafeEqual(a, b);
}

/** The value of cookie `name` in a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}
