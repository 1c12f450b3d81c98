import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((entry) => (entry.isDirectory() ? sources(path.join(dir, entry.name)) : [path.join(dir, entry.name)])));
  return nested.flat().filter((file) => file.endsWith('.ts'));
}

describe('what @latchkey/verify needs at run time', () => {
  it('has no dependencies: node:crypto does the work, frameworks are optional peers', async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    expect(manifest.dependencies ?? {}).toEqual({});
    for (const peer of Object.keys(manifest.peerDependencies)) expect(manifest.peerDependenciesMeta[peer]?.optional).toBe(true);

    const allowed = new Set([...Object.keys(manifest.peerDependencies), '@latchkey/verify', '@latchkey/verify/revocations']);
    for (const file of await sources(path.join(ROOT, 'src'))) {
      const text = await readFile(file, 'utf8');
      for (const [, specifier] of text.matchAll(/(?:from |import\()'([^']+)'/g)) {
        if (specifier!.startsWith('.') || specifier!.startsWith('node:')) continue;
        expect({ file: path.relative(ROOT, file), specifier }).toEqual({ file: path.relative(ROOT, file), specifier: expect.toSatisfy((name: string) => allowed.has(name)) });
      }
    }
  });
});
