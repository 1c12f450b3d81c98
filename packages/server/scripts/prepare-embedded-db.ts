// Runs after `npm install`: prepares the embedded database templates (initialised, and with every
// migration applied) so the first `npm start` and every embedded test database open fast.
// Never fails the install (package.json runs it with `|| true`); without the templates the first
// start just takes a few seconds longer.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openPgliteDatabase } from '../src/db/pglite.js';

const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-prepare-'));
try {
  // A throw-away directory database makes the on-disk template; an in-memory one the tarballs.
  await (await openPgliteDatabase(path.join(scratch, 'pgdata'))).close();
  await (await openPgliteDatabase(null)).close();
} finally {
  await fs.rm(scratch, { recursive: true, force: true });
}
