import { loadServerConfig, startServer, type Database, type IdentityExports, type RunningServer } from '@latchkey/server';
import { TEST_ENV } from '../identity/support.js';

/** A running server with the identity and organizations services, on a free port. */
export interface OrganizationsServer {
  readonly server: RunningServer;
  readonly identity: IdentityExports;
}

/** Starts the identity and organizations services on `database` with the test settings. */
export async function startOrganizations(database: Database): Promise<OrganizationsServer> {
  const server = await startServer({
    env: TEST_ENV,
    config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
    database,
    services: { identity: true, organizations: true },
  });
  return { server, identity: server.services.identity! };
}

/** A JSON answer of the API: its status and parsed body (`null` when empty). */
export interface ApiAnswer {
  readonly status: number;
  readonly body: any;
}

/**
 * Calls `/auth/v1{path}` on `server` with a bearer `token` and, when given, a JSON `body`. `server` is
 * read at call time, so it may be assigned in `beforeAll`.
 */
export function authCaller(server: () => RunningServer): (method: string, path: string, token: string, body?: unknown) => Promise<ApiAnswer> {
  return async (method, path, token, body) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'x-supabase-api-version': '2024-01-01' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${server().url}/auth/v1${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
}
