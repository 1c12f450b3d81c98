import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { countWrongCode, replaceOneTimeToken, takeTokenByCode, takeTokenByDigest, tokenAddress } from '../store/one-time-tokens.js';

/** What an emailed token is for. */
export type OneTimeTokenType = SignInTokenType | 'email_change_current' | 'email_change_new' | 'reauthentication' | 'phone_change';

/** The tokens that sign in (or confirm a sign-up) when verified. */
export type SignInTokenType = 'confirmation' | 'recovery' | 'magiclink';

/** Wrong codes an address may try against one token before the token dies. */
export const MAX_CODE_ATTEMPTS = 5;

/** A six-digit code. */
export function newOtp(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/**
 * The hash a link carries (`token_hash`): 56 random hex digits, shaped as GoTrue's but not derived from
 * the code, so nobody can compute a link from an address and a guessed code.
 */
function newLinkHash(): string {
  return randomBytes(28).toString('hex');
}

function digest(hash: string): Buffer {
  return createHash('sha256').update(hash.toLowerCase()).digest();
}

function codeDigest(address: string, otp: string): Buffer {
  return createHash('sha256').update(address).update('\0').update(otp).digest();
}

/** A row of `auth.one_time_tokens`. */
export interface OneTimeTokenRow {
  id: string;
  user_id: string;
  token_type: OneTimeTokenType;
  relates_to: string;
  flow_state_id: string | null;
  created_at: Date;
  [column: string]: unknown;
}

/** Issues a token (replacing the user's previous one of that type); returns the code and the link hash. */
export async function issueOneTimeToken(
  tx: Queryable,
  userId: string,
  type: OneTimeTokenType,
  address: string,
  flowStateId: string | null,
): Promise<{ otp: string; hash: string }> {
  const otp = newOtp();
  const hash = newLinkHash();
  await replaceOneTimeToken(tx, { id: randomUUID(), userId, type, tokenDigest: digest(hash), codeDigest: codeDigest(address, otp), address, flowStateId });
  return { otp, hash };
}

function isLinkHash(hash: string): boolean {
  return /^[0-9a-f]{56}$/i.test(hash);
}

function fresh(row: OneTimeTokenRow | null, maxAgeSeconds: number): OneTimeTokenRow | null {
  if (!row || row.created_at.getTime() + maxAgeSeconds * 1000 < Date.now()) return null;
  return row;
}

/** The address the live token with link hash `hash` was sent to, or `null` (to count attempts per address). */
export async function linkAddress(db: Queryable, hash: string): Promise<string | null> {
  if (!isLinkHash(hash)) return null;
  return tokenAddress(db, digest(hash));
}

/**
 * Uses up the token with link hash `hash` if it is of one of `types` and younger than `maxAgeSeconds`;
 * `null` otherwise. A token is deleted when used, so it works once.
 */
export async function consumeOneTimeToken(tx: Queryable, hash: string, types: readonly OneTimeTokenType[], maxAgeSeconds: number): Promise<OneTimeTokenRow | null> {
  if (!isLinkHash(hash)) return null;
  return fresh(await takeTokenByDigest(tx, digest(hash), types), maxAgeSeconds);
}

/**
 * Uses up the token of one of `types` sent to `address` whose code is `code`. A wrong code counts
 * against every such token of the address, and a token dies at its {@link MAX_CODE_ATTEMPTS}th wrong
 * code. `null` when the code is wrong, dead or old; the caller commits either way.
 */
export async function consumeOneTimeCode(tx: Queryable, address: string, code: string, types: readonly OneTimeTokenType[], maxAgeSeconds: number): Promise<OneTimeTokenRow | null> {
  const token = await takeTokenByCode(tx, address, types, codeDigest(address, code));
  if (token) return fresh(token, maxAgeSeconds);
  await countWrongCode(tx, address, types, MAX_CODE_ATTEMPTS);
  return null;
}
