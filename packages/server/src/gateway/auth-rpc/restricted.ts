import type { DecodedCommand } from '../protocol/codec.js';

/** RPC methods a connection without a token may call: sign-in over the socket. */
export const AUTH_METHOD_PREFIX = 'auth.';

/**
 * What a restricted connection (accepted without a token while `LATCHKEY_GATEWAY_AUTH_RPC` is on) may
 * do: RPC calls to methods named `auth.*` and pings. Everything else is answered with error 103.
 */
export function allowedWhileRestricted({ kind, command }: DecodedCommand): boolean {
  if (kind === 'ping') return true;
  if (kind !== 'rpc') return false;
  const method = command.rpc?.method;
  return typeof method === 'string' && method.startsWith(AUTH_METHOD_PREFIX) && method.length > AUTH_METHOD_PREFIX.length;
}
