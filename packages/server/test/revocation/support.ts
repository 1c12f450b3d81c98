import type { SupabaseClient } from '@supabase/supabase-js';
import { decodeJwt } from 'jose';
import { expect } from 'vitest';
import type { RevocationEvent, RunningServer } from '@latchkey/server';

/** Every event a server's listeners receive, from the moment this is called. */
export function listen(server: RunningServer): RevocationEvent[] {
  const received: RevocationEvent[] = [];
  server.revocations.subscribe((event) => received.push(event));
  return received;
}

/** Stored (unexpired) events matching `where`. */
export async function stored(server: RunningServer, where: (event: RevocationEvent) => boolean): Promise<RevocationEvent[]> {
  return (await server.revocations.since(null)).filter(where);
}

/**
 * Asserts that exactly one event selecting `userId` is stored, that the listener got exactly it, and
 * returns it.
 */
export async function onlyEventOf(server: RunningServer, received: readonly RevocationEvent[], select: (event: RevocationEvent) => boolean): Promise<RevocationEvent> {
  const events = await stored(server, select);
  expect(events).toHaveLength(1);
  expect(received.filter(select)).toEqual(events);
  return events[0]!;
}

/** A signed-in client's access token and the session it belongs to. */
export async function sessionOf(client: SupabaseClient): Promise<{ token: string; sessionId: string; userId: string }> {
  const session = (await client.auth.getSession()).data.session;
  if (!session) throw new Error('not signed in');
  const claims = decodeJwt(session.access_token);
  return { token: session.access_token, sessionId: String(claims.session_id), userId: String(claims.sub) };
}

/** `GET /auth/v1/user` with a bearer token: status and error code. */
export async function userWith(authUrl: string, anonKey: string, token: string): Promise<{ status: number; code: unknown }> {
  const response = await fetch(`${authUrl}/user`, { headers: { apikey: anonKey, authorization: `Bearer ${token}` } });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, code: body.error_code ?? body.code };
}
