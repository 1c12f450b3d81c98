import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';

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
  // The replaced token's PKCE flow, and the user's flows nobody finished within a day, go too.
  await tx.query(
    `delete from auth.flow_state where user_id = $1 and (created_at < now() - interval '1 day'
        or id in (select flow_state_id from auth.one_time_tokens where user_id = $1 and token_type = $2))`,
    [userId, type],
  );
  await tx.query('delete from auth.one_time_tokens where user_id = $1 and token_type = $2', [userId, type]);
  await tx.query(
    'insert into auth.one_time_tokens (id, user_id, token_type, token_digest, code_digest, relates_to, flow_state_id) values ($1, $2, $3, $4, $5, $6, $7)',
    [randomUUID(), userId, type, digest(hash), codeDigest(address, otp), address, flowStateId],
  );
  return { otp, hash };
}

function isLinkHash(hash: string): boolean {
  return /^[0-9a-f]{56}$/i.test(hash);
}

function fresh(row: OneTimeTokenRow | undefined, maxAgeSeconds: number): OneTimeTokenRow | null {
  if (!row || row.created_at.getTime() + maxAgeSeconds * 1000 < Date.now()) return null;
  return row;
}

/** The address the live token with link hash `hash` was sent to, or `null` (to count attempts per address). */
export async function linkAddress(db: Queryable, hash: string): Promise<string | null> {
  if (!isLinkHash(hash)) return null;
  const { rows } = await db.query<{ relates_to: string }>('select relates_to from auth.one_time_tokens where token_digest = $1', [digest(hash)]);
  return rows[0]?.relates_to ?? null;
}

/**
 * Uses up the token with link hash `hash` if it is of one of `types` and younger than `maxAgeSeconds`;
 * `null` otherwise. A token is deleted when used, so it works once.
 */
export async function consumeOneTimeToken(tx: Queryable, hash: string, types: readonly OneTimeTokenType[], maxAgeSeconds: number): Promise<OneTimeTokenRow | null> {
  if (!isLinkHash(hash)) return null;
  const { rows } = await tx.query<OneTimeTokenRow>(
    `delete from auth.one_time_tokens where token_digest = $1 and token_type = any($2::text[]) returning *`,
    [digest(hash), [...types]],
  );
  return fresh(rows[0], maxAgeSeconds);
}

/**
 * Uses up the token of one of `types` sent to `address` whose code is `code`. A wrong code counts
 * against every such token of the address, and a token dies at its {@link MAX_CODE_ATTEMPTS}th wrong
 * code. `null` when the code is wrong, dead or old; the caller commits either way.
 */
export async function consumeOneTimeCode(tx: Queryable, address: string, code: string, types: readonly OneTimeTokenType[], maxAgeSeconds: number): Promise<OneTimeTokenRow | null> {
  const { rows } = await tx.query<OneTimeTokenRow>(
    `delete from auth.one_time_tokens where relates_to = $1 and token_type = any($2::text[]) and code_digest = $3 returning *`,
    [address, [...types], codeDigest(address, code)],
  );
  if (rows[0]) return fresh(rows[0], maxAgeSeconds);
  await tx.query(`update auth.one_time_tokens set failed_attempts = failed_attempts + 1 where relates_to = $1 and token_type = any($2::text[])`, [address, [...types]]);
  await tx.query(`delete from auth.one_time_tokens where relates_to = $1 and token_type = any($2::text[]) and failed_attempts >= $3`, [address, [...types], MAX_CODE_ATTEMPTS]);
  return null;
}
