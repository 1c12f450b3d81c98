// Build step after `tsc -b`: copies what the server reads from beside its modules at run time (the
// SQL migrations, found through `import.meta.url`) from src/ into dist/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ASSETS = ['db/migrations'];

for (const dir of ASSETS) {
  const from = path.join(root, 'src', dir);
  const to = path.join(root, 'dist', dir);
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true, filter: (file) => fs.statSync(file).isDirectory() || file.endsWith('.sql') });
}
