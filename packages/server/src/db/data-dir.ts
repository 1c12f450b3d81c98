import fs from 'node:fs/promises';
import path from 'node:path';

/** Whether an embedded (PGlite) data directory holds a database already (it has `PG_VERSION`). */
export async function embeddedDatabaseExists(dataDir: string): Promise<boolean> {
  try {
    await fs.access(path.join(dataDir, 'PG_VERSION'));
    return true;
  } catch {
    return false;
  }
}
