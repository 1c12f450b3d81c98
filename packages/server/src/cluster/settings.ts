import { createHash } from 'node:crypto';
import { readSetting, type Environment } from '../config/index.js';

/**
 * One setting every node of a deployment must hold alike: the variable an operator changes, and what
 * nodes compare (the value itself when it is public, a SHA-256 fingerprint when it is a secret).
 */
export interface SharedSetting {
  /** What nodes compare it by, whichever variable set it (`audience` for `LATCHKEY_JWT_AUD` or `GOTRUE_JWT_AUD`). */
  readonly key: string;
  readonly name: string;
  readonly value: string;
}

function fingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update('latchkey-cluster-setting:').update(secret).digest('base64url')}`;
}

/** A secret setting: its fingerprint, or what stands in when it is not set. */
function secret(key: string, env: Environment, names: readonly string[], unset: string): SharedSetting {
  const setting = readSetting(env, names);
  return { key, name: setting?.name ?? names[0]!, value: setting ? fingerprint(setting.value) : unset };
}

/** A public setting: its value, or its default. */
function plain(key: string, env: Environment, names: readonly string[], fallback: string): SharedSetting {
  const setting = readSetting(env, names);
  return { key, name: setting?.name ?? names[0]!, value: setting?.value ?? fallback };
}

/**
 * The settings that must be identical on every node sharing a database: tokens signed by one node are
 * verified by all (issuer, audience, signing keys, HS256 secret), clients hold one pair of API keys, the
 * gateway's server API key and token secret are one, and the Redis prefix decides which nodes hear each
 * other. `issuer` is the resolved `iss` of access tokens.
 */
export function sharedSettings(env: Environment, issuer: string): SharedSetting[] {
  const issuerSetting = readSetting(env, ['LATCHKEY_JWT_ISSUER', 'GOTRUE_JWT_ISSUER']) ?? readSetting(env, ['LATCHKEY_PUBLIC_URL', 'API_EXTERNAL_URL']);
  return [
    { key: 'issuer', name: issuerSetting?.name ?? 'LATCHKEY_PUBLIC_URL', value: issuer },
    plain('audience', env, ['LATCHKEY_JWT_AUD', 'GOTRUE_JWT_AUD'], 'authenticated'),
    plain('expiry', env, ['LATCHKEY_JWT_EXPIRY', 'GOTRUE_JWT_EXP'], '3600'),
    secret('signing_keys', env, ['LATCHKEY_JWT_KEYS', 'GOTRUE_JWT_KEYS'], 'stored in the database'),
    secret('hs256_secret', env, ['LATCHKEY_JWT_SECRET', 'GOTRUE_JWT_SECRET'], 'none'),
    secret('anon_key', env, ['LATCHKEY_ANON_KEY'], 'stored in the database'),
    secret('service_role_key', env, ['LATCHKEY_SERVICE_ROLE_KEY'], 'stored in the database'),
    secret('gateway_api_key', env, ['LATCHKEY_GATEWAY_API_KEY'], 'stored in the database'),
    secret('gateway_token_secret', env, ['LATCHKEY_GATEWAY_TOKEN_HMAC_SECRET'], 'none'),
    secret('gateway_subscription_secret', env, ['LATCHKEY_GATEWAY_SUBSCRIPTION_TOKEN_HMAC_SECRET'], 'none'),
    plain('redis_prefix', env, ['LATCHKEY_REDIS_PREFIX'], 'latchkey'),
  ];
}

/** How a setting is shown in the refusal: public values as they are, secrets only as differing. */
export function describeSetting(setting: SharedSetting): string {
  return setting.value.startsWith('sha256:') ? 'a different value' : JSON.stringify(setting.value);
}
