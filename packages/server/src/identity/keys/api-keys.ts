import type { Database } from '../../db/index.js';
import type { Logger } from '../../logging/logger.js';
import type { IdentitySettings } from '../settings.js';
import type { KeyStore } from './key-store.js';

/** The two API keys clients are configured with, as Supabase issues them: long-lived JWTs with a `role`. */
export interface ApiKeys {
  /** `role: "anon"`: what browsers and apps pass to `createClient(url, anonKey)`. */
  readonly anonKey: string;
  /** `role: "service_role"`: full admin access; keep it on servers. */
  readonly serviceRoleKey: string;
}

interface StoredApiKeys {
  readonly anon_key: string;
  readonly service_role_key: string;
  readonly kid: string | null;
  readonly exp: number;
}

const SETTINGS_KEY = 'identity.api_keys';
/** The `iss` of the API keys this service signs. */
export const API_KEY_ISSUER = 'latchkey';
const API_KEYS_LOCK = 7_362_114_102;
/** API keys are valid for ten years, like the keys Supabase generates. */
const API_KEY_LIFETIME = 10 * 365 * 24 * 3600;

async function readStored(db: Database): Promise<StoredApiKeys | null> {
  const { rows } = await db.query<{ value: StoredApiKeys }>('select value from latchkey.settings where key = $1', [SETTINGS_KEY]);
  return rows[0]?.value ?? null;
}

async function stillValid(keys: KeyStore, stored: StoredApiKeys): Promise<boolean> {
  try {
    await keys.verify(stored.anon_key);
    await keys.verify(stored.service_role_key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the anon and service_role keys: `LATCHKEY_ANON_KEY` / `LATCHKEY_SERVICE_ROLE_KEY` when set,
 * otherwise the persisted ones, generated and signed with the current signing key on first start (or
 * again when the key that signed them is no longer accepted).
 */
export async function loadApiKeys(db: Database, keys: KeyStore, settings: IdentitySettings, logger?: Logger): Promise<ApiKeys> {
  if (settings.anonKey && settings.serviceRoleKey) return { anonKey: settings.anonKey, serviceRoleKey: settings.serviceRoleKey };
  let stored = await readStored(db);
  if (!stored || !(await stillValid(keys, stored))) {
    stored = await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [API_KEYS_LOCK]);
      const { rows } = await tx.query<{ value: StoredApiKeys }>('select value from latchkey.settings where key = $1', [SETTINGS_KEY]);
      const current = rows[0]?.value;
      if (current && (await stillValid(keys, current))) return current;
      if (current) logger?.warn('the stored API keys were signed by a key that is no longer accepted; issuing new ones');
      const iat = Math.floor(Date.now() / 1000);
      const exp = iat + API_KEY_LIFETIME;
      const fresh: StoredApiKeys = {
        anon_key: await keys.sign({ iss: API_KEY_ISSUER, role: 'anon', iat, exp }),
        service_role_key: await keys.sign({ iss: API_KEY_ISSUER, role: 'service_role', iat, exp }),
        kid: keys.signingKey.kid ?? null,
        exp,
      };
      await tx.query(
        `insert into latchkey.settings (key, value) values ($1, $2)
         on conflict (key) do update set value = excluded.value, updated_at = now()`,
        [SETTINGS_KEY, JSON.stringify(fresh)],
      );
      return fresh;
    });
  }
  return { anonKey: settings.anonKey ?? stored.anon_key, serviceRoleKey: settings.serviceRoleKey ?? stored.service_role_key };
}
