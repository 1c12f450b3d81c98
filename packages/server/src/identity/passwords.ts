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

/**
 * Hashes and compares passwords on its own low-priority threads, off the event loop. One per identity
 * service, made by its composition and handed to whatever sets or checks a password.
 */
export class PasswordHasher {
  readonly #pool = new HashingPool();
  #dummy: Promise<string> | undefined;

  /** Hashes `password` (bcrypt, GoTrue's cost). */
  hash(password: string): Promise<string> {
    return this.#pool.hash(password, BCRYPT_COST);
  }

  /**
   * Compares on a hashing thread. With no stored hash (unknown user, or no password set) a comparison
   * against a dummy hash still runs, so the answer takes as long either way.
   */
  async verify(password: string, hash: string | null): Promise<boolean> {
    if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
    try {
      if (hash === null || !isBcryptHash(hash)) {
        await this.#pool.compare(password, await this.#dummyHash());
        return false;
      }
      return await this.#pool.compare(password, hash);
    } catch {
      throw new IdentityError(500, 'unexpected_failure', 'Unable to verify the password');
    }
  }

  /** Starts the threads and computes the dummy hash ahead of the first login; safe to call again. */
  prepare(): void {
    this.#pool.start();
    void this.#dummyHash();
  }

  /** The hash compared against when there is none to compare with; computed once (again after a failure). */
  #dummyHash(): Promise<string> {
    if (this.#dummy === undefined) {
      const dummy = this.#pool.hash('latchkey-dummy-password', BCRYPT_COST);
      this.#dummy = dummy;
      dummy.catch(() => {
        if (this.#dummy === dummy) this.#dummy = undefined;
      });
    }
    return this.#dummy;
  }
}
