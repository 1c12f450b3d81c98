import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/**
 * PGlite's `initdb` costs several seconds; loading an initialised data directory from a tarball
 * costs under one. The tarball is made once per PGlite version (at install, or on first use) and
 * cached beside the installed packages.
 */
const require = createRequire(import.meta.url);

/** The installed PGlite package folder (its `package.json` is not exported, so found from the entry). */
function pglitePackageDir(): string {
  const entry = require.resolve('@electric-sql/pglite');
  const marker = `${path.sep}node_modules${path.sep}@electric-sql${path.sep}pglite${path.sep}`;
  const at = entry.lastIndexOf(marker);
  return at >= 0 ? entry.slice(0, at + marker.length - 1) : path.dirname(path.dirname(entry));
}

function pgliteVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(pglitePackageDir(), 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

function candidateDirs(): string[] {
  const nodeModules = path.resolve(pglitePackageDir(), '..', '..');
  return [path.join(nodeModules, '.cache', 'latchkey'), path.join(os.tmpdir(), 'latchkey-cache')];
}

let pending: Promise<Blob | null> | undefined;

async function readCached(file: string): Promise<Blob | null> {
  try {
    return new Blob([await fs.readFile(file)]);
  } catch {
    return null;
  }
}

async function writeCached(blob: Blob): Promise<void> {
  const bytes = Buffer.from(await blob.arrayBuffer());
  for (const dir of candidateDirs()) {
    try {
      await fs.mkdir(dir, { recursive: true });
      const file = path.join(dir, `pglite-${pgliteVersion()}.tgz`);
      const temp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(temp, bytes);
      await fs.rename(temp, file);
      return;
    } catch {
      // try the next location; the template is only an accelerator
    }
  }
}

async function loadOrCreate(): Promise<Blob | null> {
  const name = `pglite-${pgliteVersion()}.tgz`;
  for (const dir of candidateDirs()) {
    const cached = await readCached(path.join(dir, name));
    if (cached) return cached;
  }
  const fresh = await PGlite.create('memory://');
  try {
    const blob = await fresh.dumpDataDir('gzip');
    await writeCached(blob);
    return blob;
  } finally {
    await fresh.close();
  }
}

/** The initialised data directory as a gzip tarball, made at most once per process. */
export function pgliteTemplate(): Promise<Blob | null> {
  pending ??= loadOrCreate().catch(() => null);
  return pending;
}
