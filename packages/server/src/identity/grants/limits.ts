import { IdentityError, Messages } from '../errors.js';
import type { ClientFacts } from '../sessions.js';
import type { GrantCaller, GrantContext } from './types.js';

/** Takes one request from the caller's address in the token endpoint's bucket; 429 `over_request_rate_limit` when empty. */
export function takeToken(context: GrantContext, caller: GrantCaller): void {
  if (!context.runtime.limits.token.take(caller.ip)) throw new IdentityError(429, 'over_request_rate_limit', Messages.rateLimited);
}

/** The caller as a new session records it. */
export function clientFactsOf(caller: GrantCaller): ClientFacts {
  return { ip: caller.ip, userAgent: caller.userAgent };
}
