import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Workspace package folders; their `exports` point at dist/, which tests never need. */
const PACKAGES = ['packages/verify', 'packages/client', 'packages/server', 'packages/cli', 'examples/notes-api'];

/** Every export of every workspace package, resolved to its TypeScript source (`./dist/x.js` → `src/x.ts`). */
function sourceAliases(): { find: RegExp; replacement: string }[] {
  return PACKAGES.flatMap((folder) => {
    const base = new URL(`./${folder}/`, import.meta.url);
    const manifest = JSON.parse(readFileSync(new URL('package.json', base), 'utf8')) as {
      name: string;
      exports: Record<string, string | { import: string }>;
    };
    return Object.entries(manifest.exports).flatMap(([subpath, target]) => {
      if (typeof target === 'string') return [];
      const specifier = manifest.name + subpath.slice(1);
      const source = target.import.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts');
      return [{ find: new RegExp(`^${specifier.replace(/[/.]/g, '\\$&')}$`), replacement: fileURLToPath(new URL(source, base)) }];
    });
  });
}

export default defineConfig({
  resolve: { alias: sourceAliases() },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.ci/out/vitest.json' },
  },
});
