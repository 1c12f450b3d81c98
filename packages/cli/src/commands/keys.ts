import { runAdmin, type DatabaseFlags } from '../admin/target.js';

export type KeysFlags = DatabaseFlags;

/**
 * `latchkey keys`: prints the anon and service_role API keys — those of the running server when one
 * serves this data directory, else the stored ones. Reads only: on a database that has none yet it
 * says so and exits 1. `--json` prints `{"anon_key","service_role_key"}` for scripts.
 */
export async function runKeys(flags: KeysFlags): Promise<void> {
  const keys = await runAdmin(flags, false, (admin) => admin.keys());
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ anon_key: keys.anon_key, service_role_key: keys.service_role_key })}\n`);
    return;
  }
  const signing = keys.signing_keys_source === 'environment' ? '(from LATCHKEY_JWT_KEYS)' : (keys.signing_kid ?? '(none yet)');
  process.stdout.write(`anon key          ${keys.anon_key}\nservice_role key  ${keys.service_role_key}\nsigning key       ${signing}\n`);
  for (const retired of keys.retired_keys) {
    process.stdout.write(`retired key       ${retired.kid} (published until ${retired.verify_until ?? 'removed'})\n`);
  }
}

/**
 * `latchkey keys rotate`: adds a new ES256 signing key; the previous one stays in the JWKS until every
 * token it signed has expired. A server reached through its admin socket signs with the new key at once;
 * other servers on the same PostgreSQL pick it up within `LATCHKEY_JWT_KEYS_RELOAD_INTERVAL` (30 s), or
 * as soon as a token names it.
 */
export async function runKeysRotate(flags: KeysFlags): Promise<void> {
  const result = await runAdmin(flags, true, (admin) => admin.rotateKeys());
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(`new signing key   ${result.kid}\n`);
  if (result.retired_kid) process.stdout.write(`retired key       ${result.retired_kid} (published until ${result.retired_verify_until})\n`);
}
