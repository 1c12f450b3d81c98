import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IdentityError } from '../errors.js';
import { clientFacts } from '../http/client-address.js';
import { bodyOf, optionalString } from '../http/request.js';
import type { IdentityRuntime } from '../runtime.js';
import type { GrantInputs, GrantService } from './service.js';

/** The grants `/token` offers, GoTrue's. */
type TokenGrant = 'password' | 'refresh_token' | 'pkce' | 'id_token' | 'web3';

/** A string field of the body, `''` when absent or not a string (how GoTrue reads the id_token grant). */
function text(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  return typeof value === 'string' ? value : '';
}

/** Each grant's input as GoTrue's JSON body carries it; a field of another type is 400 `bad_json`. */
const INPUTS: { readonly [K in TokenGrant]: (body: Record<string, unknown>) => GrantInputs[K] } = {
  password: (body) => ({ email: optionalString(body, 'email'), phone: optionalString(body, 'phone'), password: optionalString(body, 'password') ?? '' }),
  refresh_token: (body) => ({ refreshToken: optionalString(body, 'refresh_token') ?? '' }),
  pkce: (body) => ({ authCode: optionalString(body, 'auth_code') ?? '', codeVerifier: optionalString(body, 'code_verifier') ?? '' }),
  id_token: (body) => ({ provider: text(body, 'provider'), issuer: text(body, 'issuer'), clientId: text(body, 'client_id'), idToken: text(body, 'id_token') }),
  web3: () => ({}),
};

function isTokenGrant(value: string | undefined): value is TokenGrant {
  return value !== undefined && Object.hasOwn(INPUTS, value);
}

function issue<K extends TokenGrant>(grants: GrantService, type: K, request: FastifyRequest, runtime: IdentityRuntime): Promise<unknown> {
  const read = INPUTS[type] as (body: Record<string, unknown>) => GrantInputs[K];
  return grants.issue(type, clientFacts(request, runtime.settings), () => read(bodyOf(request)));
}

/**
 * `POST /token?grant_type=…`, GoTrue's token endpoint: JSON bodies, GoTrue's errors (an unknown grant
 * is 400 `invalid_credentials` "unsupported_grant_type", as GoTrue answers it).
 */
export function registerTokenRoute(app: FastifyInstance, runtime: IdentityRuntime, grants: GrantService): void {
  app.post<{ Querystring: { grant_type?: string } }>('/token', async (request) => {
    const grant = request.query.grant_type;
    if (!isTokenGrant(grant)) throw new IdentityError(400, 'invalid_credentials', 'unsupported_grant_type');
    return issue(grants, grant, request, runtime);
  });
}
