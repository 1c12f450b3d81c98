import type { DecodedCommand } from '../protocol/codec.js';

/**
 * The RPC methods a connection without a token may call: sign-in over the socket. Exactly these names:
 * another method that merely starts with `auth.` (registered in process or answered by the RPC proxy)
 * is not reachable without a token.
 */
export const AUTH_METHODS = ['auth.login', 'auth.refresh', 'auth.otp', 'auth.verify'] as const;

/** One of {@link AUTH_METHODS}. */
export type AuthMethod = (typeof AUTH_METHODS)[number];

const ALLOWED: ReadonlySet<string> = new Set(AUTH_METHODS);

/**
 * What a restricted connection (accepted without a token while `LATCHKEY_GATEWAY_AUTH_RPC` is on) may
 * do: RPC calls to the {@link AUTH_METHODS} and pings. Everything else is answered with error 103.
 */
export function allowedWhileRestricted({ kind, command }: DecodedCommand): boolean {
  if (kind === 'ping') return true;
  if (kind !== 'rpc') return false;
  const method = command.rpc?.method;
  return typeof method === 'string' && ALLOWED.has(method);
}
