import type { Queryable } from '../../db/index.js';

/**
 * Statements on `auth.flow_state`: the PKCE flows of mailed links and the flows of external providers
 * between `GET /authorize` and the callback. Secrets are stored as digests; a flow is used up by a
 * single `update … returning` or `delete … returning`, so it serves one request.
 */

/** A PKCE flow of a mailed link, as a sign-in code opens it. */
export interface NewLinkFlow {
  readonly id: string;
  readonly userId: string;
  readonly codeChallenge: string;
  readonly codeChallengeMethod: string;
  readonly authenticationMethod: string;
}

/** Stores a PKCE flow of a mailed link. */
export async function insertLinkFlow(tx: Queryable, flow: NewLinkFlow): Promise<void> {
  await tx.query('insert into auth.flow_state (id, user_id, code_challenge, code_challenge_method, authentication_method) values ($1, $2, $3, $4, $5)', [
    flow.id,
    flow.userId,
    flow.codeChallenge,
    flow.codeChallengeMethod,
    flow.authenticationMethod,
  ]);
}

/** Records the digest of the flow's authorization code, issued now. */
export async function setAuthCode(tx: Queryable, flowId: string, codeDigest: Buffer): Promise<void> {
  await tx.query('update auth.flow_state set auth_code_digest = $2, auth_code_issued_at = now() where id = $1', [flowId, codeDigest]);
}

/** A flow as its authorization code trades it. */
export interface AuthCodeFlowRow {
  user_id: string;
  code_challenge: string;
  code_challenge_method: string;
  authentication_method: string;
  auth_code_issued_at: Date;
  provider_access_token: string | null;
  provider_refresh_token: string | null;
  [column: string]: unknown;
}

/** Deletes and returns the flow whose authorization code has this digest; `null` when there is none. */
export async function takeFlowByAuthCode(tx: Queryable, codeDigest: Buffer): Promise<AuthCodeFlowRow | null> {
  const { rows } = await tx.query<AuthCodeFlowRow>(
    `delete from auth.flow_state where auth_code_digest = $1
     returning user_id, code_challenge, code_challenge_method, authentication_method, auth_code_issued_at, provider_access_token, provider_refresh_token`,
    [codeDigest],
  );
  return rows[0] ?? null;
}

/** Removes a flow. */
export async function deleteFlowState(db: Queryable, flowId: string): Promise<void> {
  await db.query('delete from auth.flow_state where id = $1', [flowId]);
}

/** A flow of an external provider, as `GET /authorize` opens it. */
export interface NewProviderFlow {
  readonly id: string;
  readonly codeChallenge: string | null;
  readonly codeChallengeMethod: string | null;
  readonly provider: string;
  readonly redirectTo: string;
  readonly linkingTargetId: string | null;
  readonly stateDigest: Buffer;
  readonly codeVerifier: string;
  readonly nonce: string;
}

/** Stores a provider flow; provider flows abandoned for an hour are deleted first. */
export async function insertProviderFlow(db: Queryable, flow: NewProviderFlow): Promise<void> {
  await db.query(`delete from auth.flow_state where provider_type is not null and created_at < now() - interval '1 hour'`);
  await db.query(
    `insert into auth.flow_state (id, code_challenge, code_challenge_method, authentication_method, provider_type, redirect_to, linking_target_id,
                                  state_digest, provider_code_verifier, provider_nonce)
     values ($1, $2, $3, 'oauth', $4, $5, $6, $7, $8, $9)`,
    [flow.id, flow.codeChallenge, flow.codeChallengeMethod, flow.provider, flow.redirectTo, flow.linkingTargetId, flow.stateDigest, flow.codeVerifier, flow.nonce],
  );
}

/** A provider flow as its callback claims it. */
export interface ClaimedFlowRow {
  id: string;
  provider_type: string;
  redirect_to: string;
  linking_target_id: string | null;
  code_challenge: string | null;
  provider_code_verifier: string;
  provider_nonce: string;
  /** Older than the lifetime given to {@link claimProviderFlow}. */
  expired: boolean;
  [column: string]: unknown;
}

/**
 * Marks the provider flow with this state digest called back, once, in one statement; `null` when no
 * flow has the state or it was called back already.
 */
export async function claimProviderFlow(db: Queryable, stateDigest: Buffer, lifetimeSeconds: number): Promise<ClaimedFlowRow | null> {
  const { rows } = await db.query<ClaimedFlowRow>(
    `update auth.flow_state set callback_at = now()
      where state_digest = $1 and callback_at is null
      returning id, provider_type, redirect_to, linking_target_id, code_challenge, provider_code_verifier, provider_nonce,
                created_at < now() - make_interval(secs => $2) as expired`,
    [stateDigest, lifetimeSeconds],
  );
  return rows[0] ?? null;
}

/** Whether a flow with this state digest exists (called back or not). */
export async function providerFlowExists(db: Queryable, stateDigest: Buffer): Promise<boolean> {
  const { rows } = await db.query('select 1 from auth.flow_state where state_digest = $1', [stateDigest]);
  return rows.length > 0;
}

/** PKCE provider flow: records the user and the provider's tokens, and forgets the provider secrets. */
export async function attachFlowUser(tx: Queryable, flowId: string, userId: string, providerAccessToken: string, providerRefreshToken: string | null): Promise<void> {
  await tx.query(
    `update auth.flow_state set user_id = $2, provider_access_token = $3, provider_refresh_token = $4, provider_code_verifier = null, provider_nonce = null
      where id = $1`,
    [flowId, userId, providerAccessToken, providerRefreshToken],
  );
}
