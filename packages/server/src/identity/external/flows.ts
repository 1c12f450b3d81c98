import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Queryable } from '../../db/index.js';
import { IdentityError } from '../errors.js';
import type { PkceChallenge } from '../otp/flow-state.js';

/** Seconds between `GET /authorize` and the provider's callback (GoTrue's flow state expiry). */
export const EXTERNAL_FLOW_LIFETIME_SECONDS = 300;

/** What `GET /authorize` keeps until the callback. */
export interface NewExternalFlow {
  readonly provider: string;
  /** The allowed target the browser returns to. */
  readonly redirectTo: string;
  /** `linkIdentity`: the signed-in user the new identity joins. */
  readonly linkingTargetId: string | null;
  /** The app's PKCE challenge; `null` for the implicit flow. */
  readonly pkce: PkceChallenge | null;
}

/** The secrets sent toward the provider: `state` (the flow's one-time key), `nonce`, PKCE verifier. */
export interface FlowSecrets {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** A flow claimed by its callback. */
export interface ClaimedFlow extends FlowSecrets {
  readonly id: string;
  readonly provider: string;
  readonly redirectTo: string;
  readonly linkingTargetId: string | null;
  /** Whether the app asked for the PKCE flow (a code in the redirect, traded at `/token?grant_type=pkce`). */
  readonly pkce: boolean;
}

function digest(state: string): Buffer {
  return createHash('sha256').update(state).digest();
}

/** Stores a new provider flow and returns the secrets of its authorization request. */
export async function createExternalFlow(db: Queryable, flow: NewExternalFlow): Promise<FlowSecrets> {
  const secrets: FlowSecrets = { state: randomBytes(32).toString('base64url'), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
  // Abandoned flows go with the next one.
  await db.query(`delete from auth.flow_state where provider_type is not null and created_at < now() - interval '1 hour'`);
  await db.query(
    `insert into auth.flow_state (id, code_challenge, code_challenge_method, authentication_method, provider_type, redirect_to, linking_target_id,
                                  state_digest, provider_code_verifier, provider_nonce)
     values ($1, $2, $3, 'oauth', $4, $5, $6, $7, $8, $9)`,
    [
      randomUUID(),
      flow.pkce?.challenge ?? null,
      flow.pkce?.method ?? null,
      flow.provider,
      flow.redirectTo,
      flow.linkingTargetId,
      digest(secrets.state),
      secrets.codeVerifier,
      secrets.nonce,
    ],
  );
  return secrets;
}

/**
 * Claims the flow whose `state` came back, once: a second callback with the same state is refused
 * (400 `flow_state_already_used`), an unknown state too (400 `bad_oauth_state`), and so is one older
 * than {@link EXTERNAL_FLOW_LIFETIME_SECONDS}.
 */
export async function claimExternalFlow(db: Queryable, state: string): Promise<ClaimedFlow> {
  const stateDigest = digest(state);
  const { rows } = await db.query<{
    id: string;
    provider_type: string;
    redirect_to: string;
    linking_target_id: string | null;
    code_challenge: string | null;
    provider_code_verifier: string;
    provider_nonce: string;
    expired: boolean;
  }>(
    `update auth.flow_state set callback_at = now()
      where state_digest = $1 and callback_at is null
      returning id, provider_type, redirect_to, linking_target_id, code_challenge, provider_code_verifier, provider_nonce,
                created_at < now() - make_interval(secs => $2) as expired`,
    [stateDigest, EXTERNAL_FLOW_LIFETIME_SECONDS],
  );
  const row = rows[0];
  if (!row) {
    const used = await db.query('select 1 from auth.flow_state where state_digest = $1', [stateDigest]);
    if (used.rows.length > 0) throw new IdentityError(400, 'flow_state_already_used', 'State has already been used');
    throw new IdentityError(400, 'bad_oauth_state', 'OAuth state not found or expired');
  }
  if (row.expired) throw new IdentityError(400, 'bad_oauth_state', 'OAuth state has expired');
  return {
    id: row.id,
    provider: row.provider_type,
    redirectTo: row.redirect_to,
    linkingTargetId: row.linking_target_id,
    pkce: row.code_challenge !== null,
    state,
    nonce: row.provider_nonce,
    codeVerifier: row.provider_code_verifier,
  };
}

/** PKCE flow: records the user and the provider's tokens; the caller then issues the authorization code. */
export async function attachFlowUser(tx: Queryable, flowId: string, userId: string, providerAccessToken: string, providerRefreshToken: string | undefined): Promise<void> {
  await tx.query(
    `update auth.flow_state set user_id = $2, provider_access_token = $3, provider_refresh_token = $4, provider_code_verifier = null, provider_nonce = null
      where id = $1`,
    [flowId, userId, providerAccessToken, providerRefreshToken ?? null],
  );
}

/** Removes a flow (implicit flow done, or the callback refused). */
export async function deleteFlow(db: Queryable, flowId: string): Promise<void> {
  await db.query('delete from auth.flow_state where id = $1', [flowId]);
}
