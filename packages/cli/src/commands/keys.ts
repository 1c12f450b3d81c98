import { KeyStore, loadApiKeys, loadIdentitySettings, rotateSigningKey } from '@latchkey/server';
import type { Command } from 'commander';
import { withServerDatabase } from './database.js';
import { CliError, ExitCode } from '../exit-codes.js';

export interface KeysFlags {
  readonly databaseUrl?: string;
  readonly dataDir?: string;
  readonly json?: boolean;
}


/**
 * `latchkey keys`: prints the anon and service_role API keys (generating them on a fresh database, as
 * the first start would). `--json` prints `{"anon_key","service_role_key"}` for scripts.
 */
export async function runKeys(flags: KeysFlags): Promise<void> {
  const settings = loadIdentitySettings(process.env);
  const keys = await withServerDatabase(flags, async (db) => {
    const store = await KeyStore.open(db, settings);
    const apiKeys = await loadApiKeys(db, store, settings);
    return { apiKeys, kid: store.signingKey.kid ?? null, kids: store.kids };
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ anon_key: keys.apiKeys.anonKey, service_role_key: keys.apiKeys.serviceRoleKey })}\n`);
    return;
  }
  process.stdout.write(
    `anon key          ${keys.apiKeys.anonKey}\nservice_role key  ${keys.apiKeys.serviceRoleKey}\nsigning key       ${keys.kid ?? '(no kid)'}\n`,
  );
}

/**
 * `latchkey keys rotate`: adds a new ES256 signing key; the previous one stays in the JWKS until every
 * token it signed has expired. Running servers pick the new key up within
 * `LATCHKEY_JWT_KEYS_RELOAD_INTERVAL` (30 s by default).
 */
export async function runKeysRotate(flags: KeysFlags): Promise<void> {
  const settings = loadIdentitySettings(process.env);
  if (settings.jwtKeys) {
    throw new CliError(`${settings.jwtKeys.name}: signing keys come from this variable; rotate them there`, ExitCode.Usage);
  }
  const result = await withServerDatabase(flags, async (db) => {
    await KeyStore.open(db, settings);
    return rotateSigningKey(db, settings);
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ kid: result.kid, retired_kid: result.retiredKid, retired_verify_until: result.verifyUntil?.toISOString() ?? null })}\n`);
    return;
  }
  process.stdout.write(`new signing key   ${result.kid}\n`);
  if (result.retiredKid) process.stdout.write(`retired key       ${result.retiredKid} (published until ${result.verifyUntil?.toISOString()})\n`);
}

/** Adds `keys` and `keys rotate` to the program. */
export function registerKeysCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description('print the anon and service_role API keys')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'folder for the embedded database (LATCHKEY_DATA_DIR)')
    .option('--json', 'print {"anon_key","service_role_key"} as JSON')
    .action(async (flags: KeysFlags) => {
      await runKeys(flags);
    });
  keys
    .command('rotate')
    .description('add a new signing key; the previous one stays published until its tokens expire')
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'folder for the embedded database (LATCHKEY_DATA_DIR)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: KeysFlags, command: Command) => {
      await runKeysRotate({ ...(command.parent?.opts() as KeysFlags), ...flags });
    });
}
