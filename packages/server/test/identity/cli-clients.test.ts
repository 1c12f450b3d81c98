import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATCHKEY_BIN, spawnNode } from '../../../../test-support/processes.js';

async function run(args: string[], env: Record<string, string>): Promise<{ code: number | string; output: string }> {
  const proc = spawnNode(LATCHKEY_BIN, args, env);
  const code = await proc.exited;
  return { code, output: proc.output() };
}

describe('latchkey clients', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-clients-'));
  });
  afterAll(async () => {
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('creates a client (secret shown once), lists it without its secret and deletes it', async () => {
    const env = { LATCHKEY_DATA_DIR: dataDir };
    const created = await run(['clients', 'create', '--name', 'nightly export', '--scope', 'notes:read,notes:write', '--json'], env);
    expect(created.code).toBe(0);
    const client = JSON.parse(created.output) as { client_id: string; client_secret: string; scopes: string[] };
    expect(client.client_secret.length).toBeGreaterThanOrEqual(43);
    expect(client.scopes).toEqual(['notes:read', 'notes:write']);

    const listed = await run(['clients', 'list', '--json'], env);
    expect(listed.code).toBe(0);
    expect(listed.output).not.toContain(client.client_secret);
    expect((JSON.parse(listed.output) as { clients: { client_id: string }[] }).clients.map((entry) => entry.client_id)).toContain(client.client_id);

    expect((await run(['clients', 'delete', client.client_id], env)).code).toBe(0);
    const again = await run(['clients', 'delete', client.client_id], env);
    expect(again.code).toBe(1);
    expect(again.output.trim()).toBe(`latchkey: no client ${client.client_id}`);
  }, 180_000);

  it('refuses a bad organization id with exit 2', async () => {
    const result = await run(['clients', 'create', '--name', 'x', '--organization', 'acme'], { LATCHKEY_DATA_DIR: dataDir });
    expect(result.code).toBe(2);
  }, 60_000);
});
