import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Refresh tokens are opaque random strings. The database keeps only their SHA-256 digest; a child
 * token is also kept encrypted under a key derived from its parent, so that presenting the parent
 * again (a client that lost the answer) returns the same child without storing tokens in clear.
 */

/** A new refresh token: 24 random bytes, base64url (32 characters). */
export function newRefreshToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The digest a token is stored and looked up under. */
export function digestToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function sealingKey(parent: string): Buffer {
  return createHash('sha256').update('latchkey-refresh-seal\0').update(parent).digest();
}

/** Encrypts `child` (AES-256-GCM) so only a holder of `parent` can read it back. */
export function sealForParent(child: string, parent: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(parent), iv);
  const body = Buffer.concat([cipher.update(child, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** Reverses {@link sealForParent}; `null` when `parent` is not the key. */
export function openWithParent(sealed: Uint8Array, parent: string): string | null {
  const bytes = Buffer.from(sealed);
  if (bytes.length < 29) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(parent), bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
