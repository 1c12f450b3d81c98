#!/usr/bin/env node
// The `latchkey` command: runs the compiled program in dist/ (built by `npm run build`, or by
// `npm install` in a clone of the repository).
const entry = new URL('../dist/main.js', import.meta.url);
let main;
try {
  ({ main } = await import(entry.href));
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && error.url === entry.href) {
    process.stderr.write('latchkey: not built yet; run `npm run build` in the repository\n');
    process.exit(1);
  }
  throw error;
}
await main(process.argv);
