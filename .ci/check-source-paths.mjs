// Every export of every workspace package must have a `paths` entry in the root tsconfig.json that
// points at its source (`./dist/x.js` → `src/x.ts`): without one, type-checks would silently use the
// last build's declarations. (vitest.config.ts derives its aliases from the same exports.)
import fs from 'node:fs';

const PACKAGES = ['packages/verify', 'packages/client', 'packages/server', 'packages/cli', 'examples/notes-api'];
const tsconfig = JSON.parse(fs.readFileSync('tsconfig.json', 'utf8').replace(/^\s*\/\/.*$/gm, ''));
const paths = tsconfig.compilerOptions.paths;
const problems = [];
for (const folder of PACKAGES) {
  const manifest = JSON.parse(fs.readFileSync(`${folder}/package.json`, 'utf8'));
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (typeof target === 'string') continue;
    const specifier = manifest.name + subpath.slice(1);
    const source = target.import.replace(/^\.\/dist\//, `./${folder}/src/`).replace(/\.js$/, '.ts');
    if (!fs.existsSync(source)) problems.push(`${specifier}: ${source} does not exist`);
    if (paths[specifier]?.[0] !== source) problems.push(`${specifier}: tsconfig.json paths should be ["${source}"], is ${JSON.stringify(paths[specifier])}`);
  }
}
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`source paths: every export of ${PACKAGES.length} packages maps to its source\n`);
}
