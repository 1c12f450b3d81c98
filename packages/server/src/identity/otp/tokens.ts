import { createHash, randomInt, randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';

/** What an emailed token is for. */
export type OneTimeTokenType = 'confirmation' | 'recovery' | 'magiclink';

/** A six-digit code. */
export function newOtp(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** GoTrue's token hash, carried in links: hex SHA-224 of the address followed by the code. */
export function tokenHash(address: string, otp: string): string {
  return createHash('sha224').update(address + otp).digest('hex');
}

function digest(hash: string): Buffer {
  return createHash('sha256').update(hash.toLowerCase()).digest();
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
  const hash = tokenHash(address, otp);
  // The replaced token's PKCE flow, and the user's flows nobody finished within a day, go too.
  await tx.query(
    `delete from auth.flow_state where user_id = $1 and (created_at < now() - interval '1 day'
        or id in (select flow_state_id from auth.one_time_tokens where user_id = $1 and token_type = $2))`,
    [userId, type],
  );
  await tx.query('delete from auth.one_time_tokens where user_id = $1 and token_type = $2', [userId, type]);
  await tx.query('insert into auth.one_time_tokens (id, user_id, token_type, token_digest, relates_to, flow_state_id) values ($1, $2, $3, $4, $5, $6)', [
    randomUUID(),
    userId,
    type,
    digest(hash),
    address,
    flowStateId,
  ]);
  return { otp, hash };
}

/**
 * Uses up the token with link hash `hash` if it is of one of `types` and younger than `maxAgeSeconds`;
 * `null` otherwise. A token is deleted when used, so it works once.
 */
export async function consumeOneTimeToken(tx: Queryable, hash: string, types: readonly OneTimeTokenType[], maxAgeSeconds: number): Promise<OneTimeTokenRow | null> {
  if (!/^[0-9a-f]{56}$/i.test(hash)) return null;
  const { rows } = await tx.query<OneTimeTokenRow>(
    `delete from auth.one_time_tokens where token_digest = $1 and token_type = any($2::text[]) returning *`,
    [digest(hash), [...types]],
  );
  const row = rows[0];
  if (!row || row.created_at.getTime() + maxAgeSeconds * 1000 < Date.now()) return null;
  return row;
}
