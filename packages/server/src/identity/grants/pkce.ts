import { validationFailed } from '../errors.js';
import { exchangeAuthCode } from '../otp/flow-state.js';
import { finishSession, startSession } from '../sessions.js';
import type { AuthenticationMethod, TokenResponse } from '../types.js';
import { clientFactsOf } from './limits.js';
import type { Grant } from './types.js';

/** The pkce grant's input (`auth_code`, `code_verifier`; empty when not sent). */
export interface PkceInput {
  readonly authCode: string;
  readonly codeVerifier: string;
}

/**
 * `grant_type=pkce`: trades the authorization code of an e-mailed link or an upstream provider's
 * callback, with its verifier, for a session; the upstream provider's tokens come with it when the flow
 * had them. Refusals: `validation_failed`, `flow_state_not_found`, `flow_state_expired`, `bad_code_verifier`.
 */
export const pkceGrant: Grant<PkceInput, TokenResponse> = {
  async issue({ runtime }, input, caller) {
    if (input.authCode === '' || input.codeVerifier === '') throw validationFailed('invalid request: both auth code and code verifier should be non-empty');
    const { flow, prepared } = await runtime.db.transaction(async (tx) => {
      const flow = await exchangeAuthCode(tx, input.authCode, input.codeVerifier);
      const prepared = await startSession(tx, runtime.issuer, flow.userId, {
        audit: { writer: runtime.audit, traits: { provider_type: flow.method } },
        method: flow.method as AuthenticationMethod,
        client: clientFactsOf(caller),
      });
      return { flow, prepared };
    });
    const session = await finishSession(runtime.issuer, prepared);
    if (flow.providerAccessToken) session.provider_token = flow.providerAccessToken;
    if (flow.providerRefreshToken) session.provider_refresh_token = flow.providerRefreshToken;
    return session;
  },
};
