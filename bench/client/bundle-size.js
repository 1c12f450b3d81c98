#!/usr/bin/env node
// Browser bundle of @latchkey/client: its main entry bundled by esbuild for the browser platform
// (ES module, minified), with and without `centrifuge`; sizes minified and gzipped (level 9). Fails
// when the bundle pulls in a Node.js built-in or, without centrifuge, exceeds the budget.
// `npm run bench:bundle` measures the workspace's built package (run `npm run build` first); the
// consumer test (.ci/consumer/run.js) measures the installed tarball with the same function.
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Budget for @latchkey/client without centrifuge, minified and gzipped. */
export const BROWSER_BUDGET_BYTES = 12 * 1024;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Bundles `export * from '@latchkey/client'` as resolved from `resolveDir`.
 * @returns per variant (`with centrifuge`, `without centrifuge`): minified and gzipped bytes, the Node
 * built-ins the bundle would import (must be empty), and its five largest inputs.
 */
export async function measureBrowserBundle(resolveDir) {
  const esbuild = createRequire(path.join(ROOT, 'package.json'))('esbuild');
  const variants = {};
  for (const [label, external] of [['with centrifuge', []], ['without centrifuge', ['centrifuge']]]) {
    const result = await esbuild.build({
      stdin: { contents: "export * from '@latchkey/client';", resolveDir, sourcefile: 'browser-entry.js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      minify: true,
      write: false,
      metafile: true,
      external,
      logLevel: 'silent',
    });
    const [output] = Object.values(result.metafile.outputs);
    const inputs = Object.keys(result.metafile.inputs);
    const builtins = [
      ...inputs.filter((input) => input.startsWith('node:') || /(^|\/)node_modules\/ws\//.test(input)),
      ...output.imports.map((entry) => entry.path).filter((name) => name.startsWith('node:') || builtinModules.includes(name)),
    ];
    const code = result.outputFiles[0].contents;
    const largest = Object.entries(output.inputs)
      .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)
      .slice(0, 5)
      .map(([input, { bytesInOutput }]) => ({ input: input.replace(/^.*node_modules\//, ''), bytes: bytesInOutput }));
    variants[label] = { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length, builtins, largest };
  }
  return variants;
}

/** One line per variant, for people. */
export function describeBundle(label, { minified, gzipped, largest }) {
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  return `${label}: ${kb(minified)} minified, ${kb(gzipped)} gzipped; largest inputs: ${largest.map(({ input, bytes }) => `${input} ${kb(bytes)}`).join(', ')}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // From the package's folder, whose tsconfig.json has no `paths`: the import resolves to the built dist/.
  const variants = await measureBrowserBundle(path.join(ROOT, 'packages/client'));
  let ok = true;
  for (const [label, variant] of Object.entries(variants)) {
    process.stdout.write(`${describeBundle(label, variant)}\n`);
    if (variant.builtins.length > 0) {
      ok = false;
      process.stdout.write(`  Node.js built-ins pulled in: ${variant.builtins.join(', ')}\n`);
    }
  }
  const own = variants['without centrifuge'].gzipped;
  if (own > BROWSER_BUDGET_BYTES) ok = false;
  process.stdout.write(`without centrifuge: ${(own / 1024).toFixed(1)} KB min+gz, budget ${BROWSER_BUDGET_BYTES / 1024} KB: ${ok ? 'PASS' : 'FAIL'}\n`);
  if (!ok) process.exitCode = 1;
}
