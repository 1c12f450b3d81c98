/**
 * A real Latchkey server for the SDK's integration tests: the identity service on a free port, plus a
 * protected test route (`GET /test/protected`) that verifies bearer tokens with the identity service's
 * own verifier and answers 401 for tokens the test has revoked, and counters of token requests.
 */
import type { FastifyInstance } from 'fastify';
import { loadServerConfig, startServer, type Database, type IdentityExports, type RunningServer, type ServiceSelection } from '@latchkey/server';

export interface Stack {
  readonly server: RunningServer;
  readonly url: string;
  readonly anonKey: string;
  readonly identity: IdentityExports;
  /** Requests seen by `POST /auth/v1/token` and `/auth/v1/oauth/token`, by grant type. */
  readonly tokenRequests: { total: number; byGrant: Record<string, number> };
  /** Access tokens `/test/protected` rejects with 401 even though they verify. */
  readonly revoked: Set<string>;
  /** Status codes `/test/protected` answered. */
  readonly protectedStatuses: number[];
  resetCounters(): void;
  close(): Promise<void>;
}

export const STACK_ENV: Record<string, string> = {
  LATCHKEY_RATE_LIMIT_TOKEN_REFRESH: '0',
  LATCHKEY_RATE_LIMIT_SIGNUP: '0',
  // No grace for a replayed refresh token: only the SDK's single-flight and file lock prevent reuse.
  LATCHKEY_REFRESH_TOKEN_REUSE_INTERVAL: '0',
};

export async function startStack(
  database: Database,
  options: { env?: Record<string, string>; services?: ServiceSelection; extend?: (app: FastifyInstance) => void; port?: number | undefined } = {},
): Promise<Stack> {
  const tokenRequests = { total: 0, byGrant: {} as Record<string, number> };
  const revoked = new Set<string>();
  const protectedStatuses: number[] = [];
  let identityRef: IdentityExports | undefined;
  const server = await startServer({
    env: { ...STACK_ENV, ...options.env },
    config: loadServerConfig({ PORT: String(options.port ?? 0), DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
    database,
    services: options.services ?? { identity: true },
    extend: (app: FastifyInstance, _context, services) => {
      identityRef = services.identity ?? undefined;
      options.extend?.(app);
      app.addHook('onRequest', async (request) => {
        const path = request.url.split('?')[0];
        if (request.method === 'POST' && (path === '/auth/v1/token' || path === '/auth/v1/oauth/token')) {
          const grant = new URL(request.url, 'http://x').searchParams.get('grant_type') ?? 'form';
          tokenRequests.total += 1;
          tokenRequests.byGrant[grant] = (tokenRequests.byGrant[grant] ?? 0) + 1;
        }
      });
      app.get('/test/protected', async (request, reply) => {
        const header = request.headers.authorization ?? '';
        const token = /^Bearer (\S+)$/i.exec(header)?.[1];
        let status = 200;
        let claims: Record<string, unknown> | undefined;
        if (!token || revoked.has(token)) status = 401;
        else {
          try {
            claims = await identityRef!.verifyToken(token);
            if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) status = 401;
          } catch {
            status = 401;
          }
        }
        protectedStatuses.push(status);
        if (status === 401) {
          reply.header('www-authenticate', 'Bearer error="invalid_token"');
          return reply.code(401).send({ error: 'invalid_token' });
        }
        return { sub: claims?.sub };
      });
    },
  });
  const identity = server.services.identity!;
  return {
    server,
    url: server.url,
    anonKey: identity.apiKeys.anonKey,
    identity,
    tokenRequests,
    revoked,
    protectedStatuses,
    resetCounters() {
      tokenRequests.total = 0;
      tokenRequests.byGrant = {};
      protectedStatuses.length = 0;
    },
    close: () => server.close(),
  };
}

let counter = 0;
export function email(prefix = 'sdk'): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${process.pid}-${counter}@example.com`;
}

export const PASSWORD = 'correct-horse-battery';
