import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from '../../db/index.js';

const SETTING = 'gateway.api_key';

/**
 * The server API key: the configured one, or one generated at first start and kept in
 * `latchkey.settings` so every node of a deployment (and every restart) uses the same key.
 */
export async function resolveApiKey(db: Database, configured: string | null): Promise<{ key: string; generated: boolean }> {
  if (configured !== null) return { key: configured, generated: false };
  const candidate = randomBytes(32).toString('base64url');
  await db.query(`insert into latchkey.settings (key, value) values ($1, $2::jsonb) on conflict (key) do nothing`, [SETTING, JSON.stringify(candidate)]);
  const { rows } = await db.query<{ value: unknown }>(`select value from latchkey.settings where key = $1`, [SETTING]);
  const stored = rows[0]?.value;
  if (typeof stored !== 'string') throw new Error('gateway API key setting is damaged');
  return { key: stored, generated: stored === candidate };
}

/** Compares keys in constant time (hashing both sides first, so lengths leak nothing). */
export function keyMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
