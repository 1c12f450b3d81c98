import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AdminError, databaseOperations, loadIdentitySettings, type AdminOperations } from '@latchkey/server';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { LATCHKEY_BIN, spawnNode } from '../../../../test-support/processes.js';
import { TEST_ENV } from '../identity/support.js';
import { startPagesStack, type PagesStack } from './support.js';

const PASSWORD = 'correct-horse-battery-1';

async function consoleSignIn(stack: PagesStack, email: string, password: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.url}/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describeEachDatabase('admin users for the console', (database) => {
  let stack: PagesStack;
  let operations: AdminOperations;
  beforeAll(async () => {
    stack = await startPagesStack(database());
    operations = databaseOperations(stack.server.db, loadIdentitySettings(TEST_ENV));
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a user created with admin: true has an admin role and signs in to the console; one without cannot', async () => {
    const adminEmail = `Operator-${randomUUID()}@Example.com`;
    const created = await operations.createUser({ email: adminEmail, password: PASSWORD, admin: true });
    expect(created).toMatchObject({ email: adminEmail.toLowerCase(), role: 'supabase_admin' });
    const signedIn = await consoleSignIn(stack, adminEmail.toLowerCase(), PASSWORD);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.operator).toEqual({ kind: 'user', email: adminEmail.toLowerCase() });

    const plainEmail = `plain-${randomUUID()}@example.com`;
    expect((await operations.createUser({ email: plainEmail, password: PASSWORD, admin: false })).role).toBe('authenticated');
    const refused = await consoleSignIn(stack, plainEmail, PASSWORD);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('not_admin');
  });

  it('refuses a taken address, a short password and a malformed address, creating nothing', async () => {
    const email = `taken-${randomUUID()}@example.com`;
    await operations.createUser({ email, password: PASSWORD, admin: false });
    await expect(operations.createUser({ email, password: PASSWORD, admin: true })).rejects.toMatchObject({ code: 'email_exists' });
    await expect(operations.createUser({ email: `short-${randomUUID()}@example.com`, password: '123', admin: true })).rejects.toBeInstanceOf(AdminError);
    await expect(operations.createUser({ email: `short-${randomUUID()}@example.com`, password: '123', admin: true })).rejects.toMatchObject({ code: 'weak_password' });
    await expect(operations.createUser({ email: 'not an address', password: PASSWORD, admin: true })).rejects.toMatchObject({ code: 'bad_request' });
  });
});

it('`latchkey users create --admin` makes an admin user on an embedded database', { timeout: 120_000 }, async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-users-'));
  try {
    const email = `cli-${randomUUID()}@example.com`;
    const run = spawnNode(LATCHKEY_BIN, ['users', 'create', '--email', email, '--admin', '--json', '--data-dir', dataDir], { LATCHKEY_PASSWORD: PASSWORD, DATABASE_URL: '' });
    let stdout = '';
    run.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    expect(await run.exited, run.output()).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ email, role: 'supabase_admin' });
    const again = spawnNode(LATCHKEY_BIN, ['users', 'create', '--email', email, '--data-dir', dataDir], { LATCHKEY_PASSWORD: PASSWORD, DATABASE_URL: '' });
    expect(await again.exited).toBe(1);
    expect(again.output()).toMatch(/already exists/);
    const missing = spawnNode(LATCHKEY_BIN, ['users', 'create', '--email', email, '--data-dir', dataDir], { LATCHKEY_PASSWORD: '', DATABASE_URL: '' });
    expect(await missing.exited).toBe(2);
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
});
