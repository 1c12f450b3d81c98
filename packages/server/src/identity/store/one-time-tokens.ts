import type { Queryable } from '../../db/index.js';
import type { OneTimeTokenRow, OneTimeTokenType } from '../otp/tokens.js';

/**
 * Statements on `auth.one_time_tokens`: mailed and texted codes and links, stored by digest. A token is
 * deleted when used, so each statement that uses one up is a `delete … returning` — two requests with
 * the same token cannot both get it.
 */

/** A token to store: digests of its link hash and code, the address it went to, and its PKCE flow. */
export interface NewOneTimeToken {
  readonly id: string;
  readonly userId: string;
  readonly type: OneTimeTokenType;
  readonly tokenDigest: Buffer;
  readonly codeDigest: Buffer;
  readonly address: string;
  readonly flowStateId: string | null;
}

/**
 * Stores a token in place of the user's previous one of its type. The replaced token's PKCE flow, and
 * the user's flows nobody finished within a day, are deleted too.
 */
export async function replaceOneTimeToken(tx: Queryable, token: NewOneTimeToken): Promise<void> {
  await tx.query(
    `delete from auth.flow_state where user_id = $1 and (created_at < now() - interval '1 day'
        or id in (select flow_state_id from auth.one_time_tokens where user_id = $1 and token_type = $2))`,
    [token.userId, token.type],
  );
  await deleteUserTokensOfTypes(tx, token.userId, [token.type]);
  await tx.query(
    'insert into auth.one_time_tokens (id, user_id, token_type, token_digest, code_digest, relates_to, flow_state_id) values ($1, $2, $3, $4, $5, $6, $7)',
    [token.id, token.userId, token.type, token.tokenDigest, token.codeDigest, token.address, token.flowStateId],
  );
}

/** The address the token with this link digest was sent to; `null` when there is no such token. */
export async function tokenAddress(db: Queryable, tokenDigest: Buffer): Promise<string | null> {
  const { rows } = await db.query<{ relates_to: string }>('select relates_to from auth.one_time_tokens where token_digest = $1', [tokenDigest]);
  return rows[0]?.relates_to ?? null;
}

/** Deletes and returns the token with this link digest if it is of one of `types`. */
export async function takeTokenByDigest(tx: Queryable, tokenDigest: Buffer, types: readonly OneTimeTokenType[]): Promise<OneTimeTokenRow | null> {
  const { rows } = await tx.query<OneTimeTokenRow>(`delete from auth.one_time_tokens where token_digest = $1 and token_type = any($2::text[]) returning *`, [
    tokenDigest,
    [...types],
  ]);
  return rows[0] ?? null;
}

/** Deletes and returns the token of one of `types` sent to `address` whose code has this digest. */
export async function takeTokenByCode(tx: Queryable, address: string, types: readonly OneTimeTokenType[], codeDigest: Buffer): Promise<OneTimeTokenRow | null> {
  const { rows } = await tx.query<OneTimeTokenRow>(
    `delete from auth.one_time_tokens where relates_to = $1 and token_type = any($2::text[]) and code_digest = $3 returning *`,
    [address, [...types], codeDigest],
  );
  return rows[0] ?? null;
}

/** Counts a wrong code against every token of `types` sent to `address`; those at `maxAttempts` wrong codes are deleted. */
export async function countWrongCode(tx: Queryable, address: string, types: readonly OneTimeTokenType[], maxAttempts: number): Promise<void> {
  await tx.query(`update auth.one_time_tokens set failed_attempts = failed_attempts + 1 where relates_to = $1 and token_type = any($2::text[])`, [address, [...types]]);
  await tx.query(`delete from auth.one_time_tokens where relates_to = $1 and token_type = any($2::text[]) and failed_attempts >= $3`, [address, [...types], maxAttempts]);
}

/** Deletes the user's tokens of `types`. */
export async function deleteUserTokensOfTypes(tx: Queryable, userId: string, types: readonly OneTimeTokenType[]): Promise<void> {
  await tx.query('delete from auth.one_time_tokens where user_id = $1 and token_type = any($2::text[])', [userId, [...types]]);
}

/** Deletes every token of the user except those of `keep`. */
export async function deleteUserTokens(tx: Queryable, userId: string, keep: readonly OneTimeTokenType[] = []): Promise<void> {
  await tx.query('delete from auth.one_time_tokens where user_id = $1 and not (token_type = any($2::text[]))', [userId, [...keep]]);
}

/** Whether the user has a token of one of `types`. */
export async function hasUserTokens(tx: Queryable, userId: string, types: readonly OneTimeTokenType[]): Promise<boolean> {
  const { rows } = await tx.query('select 1 from auth.one_time_tokens where user_id = $1 and token_type = any($2::text[]) limit 1', [userId, [...types]]);
  return rows.length > 0;
}

/** Deletes the user's token of `type` sent to `address` (a code that could not be delivered). */
export async function deleteSentToken(db: Queryable, userId: string, type: OneTimeTokenType, address: string): Promise<void> {
  await db.query('delete from auth.one_time_tokens where user_id = $1 and token_type = $2 and relates_to = $3', [userId, type, address]);
}
