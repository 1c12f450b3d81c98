import fs from 'node:fs';
import bcrypt from 'bcrypt';
import { describe, expect, it } from 'vitest';
import { HashingPool } from '../../src/identity/hashing-pool.js';

/** Nice values of this process's threads, by thread id (Linux). */
function threadNiceness(): Map<number, number> {
  const result = new Map<number, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Field 19 (nice) counted from after the parenthesised command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    result.set(Number(tid), Number(fields[16]));
  }
  return result;
}

describe('password hashing threads', () => {
  it('hashes and compares as bcrypt does, on threads of lowest priority', async () => {
    const before = threadNiceness();
    const pool = new HashingPool(2);
    pool.start();
    const [first, second] = await Promise.all([pool.hash('correct horse', 4), pool.hash('battery staple', 4)]);
    expect(first).toMatch(/^\$2b\$04\$/);
    expect(await bcrypt.compare('correct horse', first)).toBe(true);
    expect(await pool.compare('correct horse', first)).toBe(true);
    expect(await pool.compare('battery staple', first)).toBe(false);
    expect(await pool.compare('battery staple', second)).toBe(true);
    // Hashes made elsewhere (GoTrue imports) compare too.
    expect(await pool.compare('imported', bcrypt.hashSync('imported', 4))).toBe(true);
    if (process.platform === 'linux') {
      const added = [...threadNiceness()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
      expect(added.filter((nice) => nice === 19).length).toBeGreaterThanOrEqual(2);
      // The main thread keeps the priority it had.
      expect(threadNiceness().get(process.pid)).toBe(before.get(process.pid));
    }
  });

  it('answers a failing job with an error and keeps serving', async () => {
    const pool = new HashingPool(1);
    await expect(pool.hash('password', 40)).rejects.toThrow(/salt/i);
    expect(await pool.compare('password', await pool.hash('password', 4))).toBe(true);
  });

  it('serves more jobs than threads, in order of arrival', async () => {
    const pool = new HashingPool(1);
    const hashes = await Promise.all(Array.from({ length: 5 }, (_, index) => pool.hash(`password-${index}`, 4)));
    const matches = await Promise.all(hashes.map((hash, index) => pool.compare(`password-${index}`, hash)));
    expect(matches).toEqual([true, true, true, true, true]);
    expect(new Set(hashes).size).toBe(5);
  });
});
