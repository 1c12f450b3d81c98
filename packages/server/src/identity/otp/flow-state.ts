import { createHash, randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { IdentityError, validationFailed } from '../errors.js';
import { insertLinkFlow, setAuthCode, takeFlowByAuthCode } from '../store/flow-state.js';

/** Seconds between following the emailed link and trading the code (GoTrue's flow state expiry). */
export const AUTH_CODE_LIFETIME_SECONDS = 300;

/** A PKCE challenge from a request body, or `null` for the implicit flow. */
export interface PkceChallenge {
  readonly challenge: string;
  readonly method: 's256' | 'plain';
}

/** Reads `code_challenge` / `code_challenge_method` (method compared case-insensitively, as GoTrue). */
export function pkceChallenge(body: Record<string, unknown>): PkceChallenge | null {
  const challenge = body.code_challenge;
  const method = body.code_challenge_method;
  if (challenge === undefined || challenge === null || challenge === '') return null;
  if (typeof challenge !== 'string' || !/^[A-Za-z0-9._~-]{43,128}$/.test(challenge)) throw validationFailed('code challenge has to be between 43 and 128 characters');
  const normalized = typeof method === 'string' ? method.toLowerCase() : '';
  if (normalized !== 's256' && normalized !== 'plain') throw validationFailed('code challenge method not supported');
  return { challenge, method: normalized };
}

function digest(code: string): Buffer {
  return createHash('sha256').update(code).digest();
}

export async function createFlowState(tx: Queryable, userId: string, pkce: PkceChallenge, method: string): Promise<string> {
  const id = randomUUID();
  await insertLinkFlow(tx, { id, userId, codeChallenge: pkce.challenge, codeChallengeMethod: pkce.method, authenticationMethod: method });
  return id;
}

/** Issues the authorization code of a flow (when its emailed link is followed). */
export async function issueAuthCode(tx: Queryable, flowStateId: string): Promise<string> {
  const code = randomUUID();
  await setAuthCode(tx, flowStateId, digest(code));
  return code;
}

/** What a traded authorization code yields. */
export interface ExchangedFlow {
  readonly userId: string;
  readonly method: string;
  /** The upstream provider's tokens, for flows started by `GET /authorize` (GoTrue's `provider_token`). */
  readonly providerAccessToken: string | null;
  readonly providerRefreshToken: string | null;
}

/**
 * Trades an authorization code and its verifier: the flow is used up, and its user id and authentication
 * method returned. 404 `flow_state_not_found`, 422 `flow_state_expired`, 400 `bad_code_verifier`.
 */
export async function exchangeAuthCode(tx: Queryable, code: string, verifier: string): Promise<ExchangedFlow> {
  const flow = await takeFlowByAuthCode(tx, digest(code));
  if (!flow) throw new IdentityError(404, 'flow_state_not_found', 'invalid flow state, no valid flow state found');
  if (flow.auth_code_issued_at.getTime() + AUTH_CODE_LIFETIME_SECONDS * 1000 < Date.now()) {
    throw new IdentityError(422, 'flow_state_expired', 'invalid flow state, flow state has expired');
  }
  const expected = flow.code_challenge_method === 's256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  if (expected !== flow.code_challenge) throw new IdentityError(400, 'bad_code_verifier', 'code challenge does not match previously saved code verifier');
  return {
    userId: flow.user_id,
    method: flow.authentication_method,
    providerAccessToken: flow.provider_access_token,
    providerRefreshToken: flow.provider_refresh_token,
  };
}
