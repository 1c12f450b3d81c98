import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Queryable } from '../../db/index.js';
import { IdentityError } from '../errors.js';
import { claimProviderFlow, insertProviderFlow, providerFlowExists } from '../store/flow-state.js';
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
  await insertProviderFlow(db, {
    id: randomUUID(),
    codeChallenge: flow.pkce?.challenge ?? null,
    codeChallengeMethod: flow.pkce?.method ?? null,
    provider: flow.provider,
    redirectTo: flow.redirectTo,
    linkingTargetId: flow.linkingTargetId,
    stateDigest: digest(secrets.state),
    codeVerifier: secrets.codeVerifier,
    nonce: secrets.nonce,
  });
  return secrets;
}

/**
 * Claims the flow whose `state` came back, once: a second callback with the same state is refused
 * (400 `flow_state_already_used`), an unknown state too (400 `bad_oauth_state`), and so is one older
 * than {@link EXTERNAL_FLOW_LIFETIME_SECONDS}.
 */
export async function claimExternalFlow(db: Queryable, state: string): Promise<ClaimedFlow> {
  const stateDigest = digest(state);
  const row = await claimProviderFlow(db, stateDigest, EXTERNAL_FLOW_LIFETIME_SECONDS);
  if (!row) {
    if (await providerFlowExists(db, stateDigest)) throw new IdentityError(400, 'flow_state_already_used', 'State has already been used');
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
