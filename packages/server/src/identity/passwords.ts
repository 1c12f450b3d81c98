import { IdentityError, validationFailed, weakPasswordError } from './errors.js';
import { HashingPool } from './hashing-pool.js';

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

/** Password hashing threads shared by every identity service of the process. */
const hashing = new HashingPool();

/** Hashes on a low-priority hashing thread, off the event loop. */
export function hashPassword(password: string): Promise<string> {
  return hashing.hash(password, BCRYPT_COST);
}

let dummyHash: Promise<string> | undefined;

/** The hash compared against when there is none to compare with; computed once (again after a failure). */
function dummy(): Promise<string> {
  if (dummyHash === undefined) {
    dummyHash = hashing.hash('latchkey-dummy-password', BCRYPT_COST);
    dummyHash.catch(() => {
      dummyHash = undefined;
    });
  }
  return dummyHash;
}

/**
 * Starts the hashing threads and computes the dummy hash ahead of the first login. Called once the
 * identity service is mounted; safe to call again.
 */
export function preparePasswordHashing(): void {
  hashing.start();
  void dummy();
}

/**
 * Compares on a hashing thread. With no stored hash (unknown user, or no password set) a comparison
 * against a dummy hash still runs, so the answer takes as long either way.
 */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
  try {
    if (hash === null || !isBcryptHash(hash)) {
      await hashing.compare(password, await dummy());
      return false;
    }
    return await hashing.compare(password, hash);
  } catch {
    throw new IdentityError(500, 'unexpected_failure', 'Unable to verify the password');
  }
}
