import { randomUUID } from 'node:crypto';
import type { Subscription } from 'centrifuge';
import { expect } from 'vitest';
import { loadServerConfig, startServer, type Database, type RunningServer } from '@latchkey/server';
import type { GatewayExports } from '../../src/gateway/index.js';
import { TEST_ENV } from '../identity/support.js';

/** A server with identity, organizations and gateway, as `latchkey serve` mounts them. */
export interface Stack {
  readonly server: RunningServer;
  readonly url: string;
  readonly wsUrl: string;
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  readonly gateway: GatewayExports;
  close(): Promise<void>;
}

/** A signed-in user: the latest tokens of one session. */
export interface User {
  readonly id: string;
  readonly email: string;
  access: string;
  refresh: string;
}

/** Starts a stack on `database`; `env` also carries `REDIS_URL` / `LATCHKEY_REDIS_PREFIX` for several nodes. */
export async function startStack(database: Database, env: Record<string, string> = {}): Promise<Stack> {
  const server = await startServer({
    env: { ...TEST_ENV, ...env },
    config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent', ...env }),
    database,
    services: { identity: true, organizations: true, gateway: true },
  });
  const { anonKey, serviceRoleKey } = server.services.identity!.apiKeys;
  return {
    server,
    url: server.url,
    wsUrl: `${server.url.replace(/^http/, 'ws')}/connection/websocket`,
    anonKey,
    serviceRoleKey,
    gateway: server.services.gateway!,
    close: () => server.close(),
  };
}

/** Calls `/auth/v1<path>` with the anon key (and `token` as the bearer) and returns status and body. */
export async function call(stack: Stack, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.url}/auth/v1${path}`, {
    method,
    headers: {
      apikey: stack.anonKey,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Signs up and signs in a new user. */
export async function signUp(stack: Stack, prefix = 'member'): Promise<User> {
  const email = `${prefix}-${randomUUID()}@example.com`;
  const password = 'correct-horse-battery-1';
  const signedUp = await call(stack, 'POST', '/signup', { body: { email, password } });
  expect(signedUp.status).toBe(200);
  const session = await call(stack, 'POST', '/token?grant_type=password', { body: { email, password } });
  expect(session.status).toBe(200);
  const user = session.body.user as { id: string };
  return { id: user.id, email, access: session.body.access_token as string, refresh: session.body.refresh_token as string };
}

/** Refreshes `user`'s session (the claims follow the memberships at every refresh) and returns the new access token. */
export async function refresh(stack: Stack, user: User): Promise<string> {
  const response = await call(stack, 'POST', '/token?grant_type=refresh_token', { body: { refresh_token: user.refresh } });
  expect(response.status).toBe(200);
  user.access = response.body.access_token as string;
  user.refresh = response.body.refresh_token as string;
  return user.access;
}

/** `owner` creates an organization (and refreshes, so their token names it). */
export async function createOrganization(stack: Stack, owner: User): Promise<string> {
  const created = await call(stack, 'POST', '/organizations', { token: owner.access, body: { name: `org ${randomUUID()}` } });
  expect(created.status).toBe(201);
  await refresh(stack, owner);
  return created.body.id as string;
}

/** Makes `user` a member straight in the membership table (as an accepted invitation would), then refreshes their token. */
export async function addMember(database: Database, stack: Stack, organization: string, user: User, role = 'member'): Promise<void> {
  await database.query('insert into auth.organization_members (organization_id, user_id, role) values ($1, $2, $3)', [organization, user.id, role]);
  await refresh(stack, user);
}

/** The claims of an access token (not verified: the test minted it through the identity service). */
export function claimsOf(token: string): { app_metadata?: { organization_id?: string; org_role?: string }; session_id?: string } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as ReturnType<typeof claimsOf>;
}


/** Resolves with `subscribed` or `unsubscribed <code> <reason>`, whichever comes first. */
export function outcome(subscription: Subscription): Promise<string> {
  return new Promise((resolve) => {
    subscription.once('subscribed', () => resolve('subscribed'));
    subscription.once('unsubscribed', (context: { code: number; reason: string }) => resolve(`unsubscribed ${context.code} ${context.reason}`));
  });
}
