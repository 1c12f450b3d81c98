import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Every module reachable from `entry` through relative imports, with its bare imports. */
async function graph(entry: string): Promise<Map<string, string[]>> {
  const seen = new Map<string, string[]>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    const text = await fs.readFile(file, 'utf8');
    const specifiers = [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((match) => match[1]!);
    seen.set(file, specifiers.filter((specifier) => !specifier.startsWith('.')));
    for (const specifier of specifiers.filter((s) => s.startsWith('.'))) {
      await visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
    }
  };
  await visit(path.join(SRC, entry));
  return seen;
}

describe('entry points', () => {
  it('the main entry runs in browsers: no Node built-ins, no ws', async () => {
    const modules = await graph('index.ts');
    const bare = [...modules.values()].flat();
    expect(bare.filter((specifier) => specifier.startsWith('node:') || specifier === 'ws')).toEqual([]);
    expect(new Set(bare)).toEqual(new Set(['centrifuge']));
  });

  it('the Node entry holds the file store, paths and the ws realtime client', async () => {
    const node = await import('@latchkey/client/node');
    expect(Object.keys(node).sort()).toEqual(['FileTokenStore', 'createNodeRealtimeClient', 'defaultConfigPath', 'defaultSessionPath', 'withFileLock']);
  });
});
