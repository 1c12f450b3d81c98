import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { LATCHKEY_BIN, spawnNode } from '../../../test-support/processes.js';
import { email, post, startIdentity, type IdentityServer } from '../../server/test/identity/support.js';

const PASSWORD = 'correct horse battery';

describeEachDatabase('latchkey sessions', (database) => {
  let identity: IdentityServer;
  let home: string;

  beforeAll(async () => {
    identity = await startIdentity(database());
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-sessions-'));
  });

  afterAll(async () => {
    await identity?.close();
    if (home) await fs.rm(home, { recursive: true, force: true });
  });

  async function run(args: readonly string[], input = ''): Promise<{ code: number | string; stdout: string; output: string }> {
    const proc = spawnNode(LATCHKEY_BIN, args, { XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config'), HOME: home, NO_COLOR: '1', LATCHKEY_URL: '' });
    proc.child.stdin?.end(input);
    let stdout = '';
    proc.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const code = await proc.exited;
    return { code, stdout, output: proc.output() };
  }

  it('lists the sessions, ends another one, and reports bad ids and an ended session with the documented exit codes', async () => {
    const address = email('cli-sessions');
    expect((await identity.client().auth.signUp({ email: address, password: PASSWORD })).error).toBeNull();
    expect((await run(['login', '--url', identity.url, '--email', address, '--password-stdin'], `${PASSWORD}\n`)).code).toBe(0);
    const elsewhere = await post(`${identity.auth}/token?grant_type=password`, { email: address, password: PASSWORD }, { 'user-agent': 'Elsewhere/1.0' });

    const listed = await run(['sessions', '--json']);
    expect(listed.code).toBe(0);
    const sessions = JSON.parse(listed.stdout) as { id: string; current: boolean; user_agent: string | null }[];
    expect(sessions.filter((session) => session.current)).toHaveLength(1);
    const other = sessions.find((session) => session.user_agent === 'Elsewhere/1.0')!;
    expect(other.current).toBe(false);

    const revoked = await run(['sessions', 'revoke', other.id]);
    expect(revoked).toMatchObject({ code: 0, stdout: `Session ${other.id} ended\n` });
    const user = await fetch(`${identity.auth}/user`, { headers: { authorization: `Bearer ${elsewhere.body.access_token as string}` } });
    expect(user.status).toBe(403);

    const plain = await run(['sessions', 'list']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain(other.id);
    expect(plain.stdout).toMatch(/^\* {2}[0-9a-f-]{36} {2}created /m);

    expect((await run(['sessions', 'revoke', 'not-an-id'])).code).toBe(2);
    const unknown = await run(['sessions', 'revoke', randomUUID()]);
    expect(unknown.code).toBe(1);
    expect(unknown.output).toMatch(/no session .* among yours/);

    // Ending the CLI's own session: later commands ask to log in again (exit 3).
    const current = sessions.find((session) => session.current)!;
    expect((await run(['sessions', 'revoke', current.id])).code).toBe(0);
    expect((await run(['sessions'])).code).toBe(3);
  }, 120_000);
});
