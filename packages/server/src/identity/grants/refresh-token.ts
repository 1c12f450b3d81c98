import { OAuthError } from '../errors.js';
import { refreshGrant } from '../refresh.js';
import type { TokenResponse } from '../types.js';
import type { Grant } from './types.js';

/** The refresh_token grant's input: the presented refresh token (empty when none was sent). */
export interface RefreshTokenInput {
  readonly refreshToken: string;
}

/**
 * `grant_type=refresh_token`: rotates the presented token under GoTrue's reuse rules (see `refresh.ts`).
 * Limited per session, not per address. An empty token is OAuth's `invalid_request` "refresh_token
 * required", as GoTrue answers it.
 */
export const refreshTokenGrant: Grant<RefreshTokenInput, TokenResponse> = {
  async issue({ runtime }, input, caller) {
    if (input.refreshToken === '') throw new OAuthError('invalid_request', 'refresh_token required');
    return refreshGrant({ ...runtime, sessionLimiter: runtime.limits.refresh, ipAddress: caller.ip }, input.refreshToken);
  },
};
