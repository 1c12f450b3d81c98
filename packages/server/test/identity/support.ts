import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { loadServerConfig, startServer, type Database, type IdentityExports, type RunningServer } from '@latchkey/server';

/** A running server with only the identity service, on a free port. */
export interface IdentityServer {
  readonly server: RunningServer;
  readonly url: string;
  readonly auth: string;
  readonly identity: IdentityExports;
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  /** A supabase-js client with the anon key, no persistence, no auto refresh. */
  client(): SupabaseClient;
  /** A supabase-js client with the service_role key, for `auth.admin`. */
  admin(): SupabaseClient;
  close(): Promise<void>;
}

/** Settings every identity suite runs with unless it overrides them: limits out of the way, 1 s reuse interval. */
export const TEST_ENV: Record<string, string> = {
  LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0',
  LATCHKEY_RATE_LIMIT_SIGNUP: '0',
  LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '1',
};

/** A supabase-js client without persistence or auto refresh; `flowType` as the app chose it (default implicit). */
export function supabaseClient(url: string, key: string, flowType: 'implicit' | 'pkce' = 'implicit'): SupabaseClient {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false, flowType },
    realtime: { transport: WebSocket as never },
  });
}

export async function startIdentity(database: Database, env: Record<string, string> = {}): Promise<IdentityServer> {
  const server = await startServer({
    env: { ...TEST_ENV, ...env },
    config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
    database,
    services: { identity: true },
  });
  const identity = server.services.identity!;
  const { anonKey, serviceRoleKey } = identity.apiKeys;
  return {
    server,
    url: server.url,
    auth: `${server.url}/auth/v1`,
    identity,
    anonKey,
    serviceRoleKey,
    client: () => supabaseClient(server.url, anonKey),
    admin: () => supabaseClient(server.url, serviceRoleKey),
    close: () => server.close(),
  };
}

let counter = 0;
/** A fresh address per call. */
export function email(prefix = 'user'): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}@example.com`;
}

/** POSTs JSON to the identity service and returns status, headers and parsed body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** `POST /token?grant_type=refresh_token` (errors in the 2024-01-01 format). */
export function refreshWith(app: IdentityServer, refreshToken: string): ReturnType<typeof post> {
  return post(`${app.auth}/token?grant_type=refresh_token`, { refresh_token: refreshToken }, { 'x-supabase-api-version': '2024-01-01' });
}

/** The payload of a JWT, read without verification. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}
