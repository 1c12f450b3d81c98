import os from 'node:os';
import bcrypt from 'bcrypt';
import { IdentityError, validationFailed, weakPasswordError } from './errors.js';

/** bcrypt cost, as GoTrue's `bcrypt.DefaultCost`. */
export const BCRYPT_COST = 10;
/** bcrypt reads at most 72 bytes; longer passwords are refused rather than silently truncated. */
export const MAX_PASSWORD_BYTES = 72;

const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/** Whether `hash` is a bcrypt hash (`$2a$`, `$2b$` or `$2y$`), as accepted in admin `password_hash`. */
export function isBcryptHash(hash: string): boolean {
  return BCRYPT_HASH.test(hash);
}

/**
 * Checks a new password: at least `minLength` characters (422 `weak_password`, reason `length`) and at
 * most 72 bytes (400 `validation_failed`).
 */
export function checkNewPassword(password: unknown, minLength: number): string {
  if (typeof password !== 'string') throw validationFailed('Password must be a string');
  if ([...password].length < minLength) throw weakPasswordError(minLength);
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) throw validationFailed(`Password cannot be longer than ${MAX_PASSWORD_BYTES} characters`);
  return password;
}

/**
 * bcrypt runs on libuv's thread pool, never on the event loop, and is also kept from taking every core:
 * at most (cores − 1, at least 1) computations run at once, so a login storm leaves the event loop — and
 * every other request — a core of its own.
 */
const HASHING_LIMIT = Math.max(1, os.availableParallelism() - 1);
let hashing = 0;
const waiting: (() => void)[] = [];

async function withHashingSlot<T>(work: () => Promise<T>): Promise<T> {
  // A finishing computation hands its slot straight to the next waiter.
  if (hashing >= HASHING_LIMIT) await new Promise<void>((resolve) => waiting.push(resolve));
  else hashing += 1;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else hashing -= 1;
  }
}

/** Hashes on libuv's thread pool, off the event loop. */
export function hashPassword(password: string): Promise<string> {
  return withHashingSlot(() => bcrypt.hash(password, BCRYPT_COST));
}

let dummyHash: Promise<string> | undefined;

/**
 * Compares on the thread pool. With no stored hash (unknown user, or no password set) a comparison
 * against a dummy hash still runs, so the answer takes as long either way.
 */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
  if (hash === null || !isBcryptHash(hash)) {
    dummyHash ??= withHashingSlot(() => bcrypt.hash('latchkey-dummy-password', BCRYPT_COST));
    const dummy = await dummyHash;
    await withHashingSlot(() => bcrypt.compare(password, dummy));
    return false;
  }
  try {
    return await withHashingSlot(() => bcrypt.compare(password, hash));
  } catch {
    throw new IdentityError(500, 'unexpected_failure', 'Unable to verify the password');
  }
}
