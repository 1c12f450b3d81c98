/**
 * `withClaims`: run database work as the token's role with its claims visible to row-level-security
 * policies, the way PostgREST and Supabase do it. No database driver is required: anything with a
 * `transaction(work)` method fits.
 *
 * @module
 */

/** One statement runner inside a transaction. */
export interface ClaimsTransaction {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: R[] }>;
}

/** A database that runs `work` in one transaction (committed on success, rolled back on throw). */
export interface ClaimsDatabase<Tx extends ClaimsTransaction = ClaimsTransaction> {
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
}

/** The database roles `withClaims` switches to. */
export type DatabaseRole = 'anon' | 'authenticated' | 'service_role';

/** Role for `claims`: `anon` without claims or with `role: "anon"`, `service_role` for that role, else `authenticated`. */
export function databaseRole(claims: object | null | undefined): DatabaseRole {
  if (!claims) return 'anon';
  const role = (claims as { role?: unknown }).role;
  if (role === 'service_role') return 'service_role';
  if (role === 'anon') return 'anon';
  return 'authenticated';
}

/**
 * Runs `fn` in a transaction as the database role for `claims` (see {@link databaseRole}), with
 * `request.jwt.claims` (and the older `request.jwt.claim.sub` / `.role`) set for the transaction
 * only. Policies read them with `current_setting('request.jwt.claims', true)::jsonb ->> 'sub'`.
 *
 * @example
 * ```ts
 * const notes = await withClaims(db, request.claims, (tx) => tx.query('select * from notes'));
 * ```
 */
export async function withClaims<T, Tx extends ClaimsTransaction>(
  db: ClaimsDatabase<Tx>,
  claims: object | null | undefined,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  const role = databaseRole(claims);
  const subject = claims ? (claims as { sub?: unknown }).sub : undefined;
  const sub = typeof subject === 'string' ? subject : '';
  const text = JSON.stringify(claims ?? {});
  return db.transaction(async (tx) => {
    await tx.query(
      `select set_config('request.jwt.claims', $1, true),
              set_config('request.jwt.claim.sub', $2, true),
              set_config('request.jwt.claim.role', $3, true)`,
      [text, sub, role],
    );
    // The role comes from a fixed list of three identifiers, never from input.
    await tx.query(`set local role ${role}`);
    return fn(tx);
  });
}
