import { mkdirSync } from 'node:fs';
import { loadServerConfig, startServer, type Database, type RunningServer } from '@latchkey/server';
import type { Page } from 'playwright-core';
import { notesApi } from '@latchkey/example-notes-api';
import { TEST_ENV } from '../identity/support.js';

/** Every service of `latchkey serve`, the pages included, on a free port. */
export interface PagesStack {
  readonly server: RunningServer;
  readonly url: string;
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  close(): Promise<void>;
}

/** Starts every page's services on `database`; with the example notes API unless `example` is false. */
export async function startPagesStack(database: Database, env: Record<string, string> = {}, { example = true }: { example?: boolean } = {}): Promise<PagesStack> {
  const server = await startServer({
    env: { ...TEST_ENV, ...env },
    config: loadServerConfig({ PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' }),
    database,
    services: { identity: true, organizations: true, gateway: true, webhooks: true, console: true },
    extensions: example ? [notesApi()] : [],
  });
  const { anonKey, serviceRoleKey } = server.services.identity!.apiKeys;
  return { server, url: server.url, anonKey, serviceRoleKey, close: () => server.close() };
}

/** Calls the admin API with the service key. */
export async function admin<T = Record<string, unknown>>(stack: PagesStack, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${stack.url}/auth/v1/admin/${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.serviceRoleKey}`, apikey: stack.anonKey, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** Writes a screenshot of `page` to docs/screenshots/ when LATCHKEY_SCREENSHOTS is set (the README shows them). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env.LATCHKEY_SCREENSHOTS) return;
  const folder = new URL('../../../../docs/screenshots/', import.meta.url);
  mkdirSync(folder, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, folder).pathname, fullPage: true });
}

/** Waits until the page's script has drawn its first view. */
export async function ready(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready="true"]');
}
