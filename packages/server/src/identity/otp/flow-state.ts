import { createHash, randomUUID } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { IdentityError, validationFailed } from '../errors.js';

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
  await tx.query('insert into auth.flow_state (id, user_id, code_challenge, code_challenge_method, authentication_method) values ($1, $2, $3, $4, $5)', [
    id,
    userId,
    pkce.challenge,
    pkce.method,
    method,
  ]);
  return id;
}

/** Issues the authorization code of a flow (when its emailed link is followed). */
export async function issueAuthCode(tx: Queryable, flowStateId: string): Promise<string> {
  const code = randomUUID();
  await tx.query('update auth.flow_state set auth_code_digest = $2, auth_code_issued_at = now() where id = $1', [flowStateId, digest(code)]);
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
  const { rows } = await tx.query<{
    user_id: string;
    code_challenge: string;
    code_challenge_method: string;
    authentication_method: string;
    auth_code_issued_at: Date;
    provider_access_token: string | null;
    provider_refresh_token: string | null;
  }>(
    `delete from auth.flow_state where auth_code_digest = $1
     returning user_id, code_challenge, code_challenge_method, authentication_method, auth_code_issued_at, provider_access_token, provider_refresh_token`,
    [digest(code)],
  );
  const flow = rows[0];
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
