import type { Database } from '../db/index.js';

const SETTING = 'cluster.public_url';

/**
 * The base URL that names a deployment on PostgreSQL when `LATCHKEY_PUBLIC_URL` is not set: the address
 * the first node listened on, stored once, so every later node (whatever its own port) issues and accepts
 * the same `iss`. `candidate` is stored only when nothing is yet; returns what is stored.
 */
export async function storedClusterUrl(db: Database, candidate: string): Promise<string> {
  await db.query(`insert into latchkey.settings (key, value) values ($1, $2::jsonb) on conflict (key) do nothing`, [SETTING, JSON.stringify(candidate)]);
  const { rows } = await db.query<{ value: unknown }>('select value from latchkey.settings where key = $1', [SETTING]);
  const stored = rows[0]?.value;
  return typeof stored === 'string' ? stored : candidate;
}

/** The stored deployment URL, or `null` before the first node has stored one. */
export async function readClusterUrl(db: Database): Promise<string | null> {
  const { rows } = await db.query<{ value: unknown }>('select value from latchkey.settings where key = $1', [SETTING]);
  const stored = rows[0]?.value;
  return typeof stored === 'string' ? stored : null;
}
