// Run by this package's `postinstall` (and by the workspace's `prepare` after the build): prepares the
// embedded database templates (initialised, and with every migration applied) so the first
// `npm start` and every embedded test database open fast. Never fails the install (`postinstall`
// runs it with `|| true`); without the templates the first start just takes a few seconds longer.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openPgliteDatabase } from '../db/pglite.js';

const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-prepare-'));
try {
  // A throw-away directory database makes the on-disk template; an in-memory one the tarballs.
  await (await openPgliteDatabase(path.join(scratch, 'pgdata'))).close();
  await (await openPgliteDatabase(null)).close();
} finally {
  await fs.rm(scratch, { recursive: true, force: true });
}
