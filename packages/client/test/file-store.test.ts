import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PasswordAuth, StoreLockTimeoutError, TokenManager, TokenSet } from '@latchkey/client';
import { FileTokenStore, withFileLock } from '@latchkey/client/node';
import { spawnNode } from '../../../test-support/processes.js';
import { fakeClock, fakeEndpoint } from './fake-endpoint.js';

const WRITE_LOOP = fileURLToPath(new URL('./fixtures/write-loop.ts', import.meta.url));
const HOLD_LOCK = fileURLToPath(new URL('./fixtures/hold-lock.ts', import.meta.url));

const scratch: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-store-'));
  scratch.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(scratch.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

const sample = (n = 1) => new TokenSet({ accessToken: `a${n}`, accessExpiresAt: 1000 * n, refreshToken: `r${n}`, refreshExpiresAt: null });

describe('FileTokenStore', () => {
  it('writes a 0600 file inside a 0700 directory and reads it back', async () => {
    const file = path.join(await tempDir(), 'nested', 'latchkey', 'session.json');
    const store = new FileTokenStore(file);
    expect(await store.load()).toBeNull();
    await store.save(sample());
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(await store.load()).toEqual(sample());
    expect((await fs.readdir(path.dirname(file))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    await store.clear();
    expect(await store.load()).toBeNull();
    await store.clear();
  });

  it('keeps 0600 whatever the umask', async () => {
    const file = path.join(await tempDir(), 'session.json');
    const previous = process.umask(0o000);
    try {
      await new FileTokenStore(file).save(sample());
    } finally {
      process.umask(previous);
    }
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });

  it('moves a corrupt file aside with a warning', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'session.json');
    await fs.writeFile(file, '{"access_token": ', { mode: 0o600 });
    const warnings: string[] = [];
    const store = new FileTokenStore(file, { onWarning: (line) => warnings.push(line) });
    expect(await store.load()).toBeNull();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/is not a session .* moved it to .*session\.json\.corrupt-\d+/);
    const names = await fs.readdir(dir);
    expect(names.some((name) => name.startsWith('session.json.corrupt-'))).toBe(true);
    expect(names).not.toContain('session.json');
  });

  it('tightens a file readable by others', async () => {
    const file = path.join(await tempDir(), 'session.json');
    await fs.writeFile(file, JSON.stringify(sample()));
    await fs.chmod(file, 0o644);
    const warnings: string[] = [];
    expect(await new FileTokenStore(file, { onWarning: (line) => warnings.push(line) }).load()).toEqual(sample());
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(warnings[0]).toMatch(/readable by other users/);
  });

  it('is never torn when a writer is killed mid-write', async () => {
    const file = path.join(await tempDir(), 'session.json');
    for (let round = 0; round < 4; round++) {
      const writer = spawnNode(WRITE_LOOP, [file]);
      await writer.waitFor(/ready/, 60_000);
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 200));
      writer.child.kill('SIGKILL');
      await writer.exited;
      const tokens = await new FileTokenStore(file, { onWarning: (line) => expect.fail(line) }).load();
      expect(tokens?.accessToken).toMatch(/^a\d+-x+$/);
      expect(tokens?.accessToken.length).toBe(`a${tokens?.accessExpiresAt}-`.length + 64 * 1024);
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    }
    // The next save sweeps temporary files the killed writers left behind.
    await new FileTokenStore(file).save(sample());
    expect((await fs.readdir(path.dirname(file))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  }, 180_000);

  describe('lock', () => {
    it('serialises holders', async () => {
      const file = path.join(await tempDir(), 'session.json');
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 20 }, () =>
          withFileLock(file, async () => {
            inside += 1;
            most = Math.max(most, inside);
            await new Promise((resolve) => setTimeout(resolve, 2));
            inside -= 1;
          }),
        ),
      );
      expect(most).toBe(1);
      await expect(fs.stat(`${file}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('takes over the lock of a killed process at once, and times out on a live one', async () => {
      const file = path.join(await tempDir(), 'session.json');
      const holder = spawnNode(HOLD_LOCK, [file]);
      await holder.waitFor(/locked/, 60_000);
      await expect(new FileTokenStore(file, { timeoutMs: 300 }).withLock(async () => 'got it')).rejects.toBeInstanceOf(StoreLockTimeoutError);
      holder.child.kill('SIGKILL');
      await holder.exited;
      const started = Date.now();
      expect(await new FileTokenStore(file, { timeoutMs: 5000 }).withLock(async () => 'got it')).toBe('got it');
      // Well before the 10 s heartbeat limit: the dead owner process is detected directly.
      expect(Date.now() - started).toBeLessThan(5000);
    }, 120_000);

    it('takes over a lock whose heartbeat stopped', async () => {
      const file = path.join(await tempDir(), 'session.json');
      await fs.mkdir(`${file}.lock`);
      const old = new Date(Date.now() - 60_000);
      await fs.utimes(`${file}.lock`, old, old);
      expect(await new FileTokenStore(file, { timeoutMs: 1000, staleMs: 10_000 }).withLock(async () => 7)).toBe(7);
    });
  });

  it('a manager reloads inside the lock and adopts a token another holder already rotated', async () => {
    const file = path.join(await tempDir(), 'session.json');
    const clock = fakeClock();
    const endpoint = fakeEndpoint({ expiresIn: 3600 });
    endpoint.valid.add('refresh-0');
    await new FileTokenStore(file).save(new TokenSet({ accessToken: 'access-0', accessExpiresAt: clock.now() - 1, refreshToken: 'refresh-0' }));
    const options = { tokenUrl: 'https://id.example/token', fetch: endpoint.fetch, clock };
    const first = new TokenManager(null, { ...options, store: new FileTokenStore(file) });
    const second = new TokenManager(new PasswordAuth('ada@example.com', 'never-used'), { ...options, store: new FileTokenStore(file) });
    await second.peek(); // second has the expired token cached
    const [a, b] = await Promise.all([first.authorizationHeader(), second.authorizationHeader()]);
    expect(a).toBe('Bearer access-1');
    expect(b).toBe('Bearer access-1');
    expect(endpoint.requests).toHaveLength(1);
  });
});
