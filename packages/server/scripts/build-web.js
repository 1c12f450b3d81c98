// Build step: bundles the demo app (`/`) and the admin console (`/admin`) from web/ with esbuild into
// dist/web/: assets named by content hash (cached for a year), a gzip copy of each, and the two HTML
// pages pointing at them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = path.join(root, 'web');
const out = path.join(root, 'dist', 'web');
const assets = path.join(out, 'assets');
const PAGES = [
  { name: 'demo', html: 'demo/index.html', script: 'demo/main.ts', output: 'index.html' },
  { name: 'admin', html: 'admin/index.html', script: 'admin/main.ts', output: 'admin.html' },
];

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(assets, { recursive: true });

const result = await build({
  entryPoints: [
    ...PAGES.map((page) => ({ in: path.join(source, page.script), out: page.name })),
    { in: path.join(source, 'common/style.css'), out: 'style' },
  ],
  outdir: assets,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: false,
  format: 'esm',
  platform: 'browser',
  target: ['chrome111', 'firefox111', 'safari16'],
  minify: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

/** Output file (under assets/) of each entry point, by the entry's source path relative to web/. */
const outputs = new Map();
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint) outputs.set(path.relative(source, path.resolve(process.cwd(), meta.entryPoint)), path.basename(file));
}
const style = outputs.get('common/style.css');
for (const page of PAGES) {
  const script = outputs.get(page.script);
  if (!script || !style) throw new Error(`build-web: no output for ${page.script}`);
  const html = fs
    .readFileSync(path.join(source, page.html), 'utf8')
    .replaceAll('{{script}}', `/assets/${script}`)
    .replaceAll('{{style}}', `/assets/${style}`);
  fs.writeFileSync(path.join(out, page.output), html);
}
for (const name of fs.readdirSync(assets)) {
  const file = path.join(assets, name);
  fs.writeFileSync(`${file}.gz`, gzipSync(fs.readFileSync(file), { level: 9 }));
}
