import { parseBoolean, readSetting, type Environment } from '../../config/index.js';

/** What changing one's password requires and does (`PUT /user`). */
export interface UserUpdateSettings {
  /**
   * A password change ends every other session of the user, with a `password_changed` revocation event
   * (`LATCHKEY_PASSWORD_CHANGE_ENDS_SESSIONS`). Default true.
   */
  readonly passwordChangeEndsSessions: boolean;
  /**
   * A password change must carry a `nonce` from `GET /reauthenticate`
   * (`LATCHKEY_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION` /
   * `GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION`). Default false.
   */
  readonly passwordChangeRequiresReauthentication: boolean;
}

function flag(env: Environment, names: readonly string[], fallback: boolean): boolean {
  const setting = readSetting(env, names);
  return setting ? parseBoolean(setting) : fallback;
}

/** Reads {@link UserUpdateSettings}; a bad value throws `ConfigError` naming the variable. */
export function loadUserUpdateSettings(env: Environment): UserUpdateSettings {
  return {
    passwordChangeEndsSessions: flag(env, ['LATCHKEY_PASSWORD_CHANGE_ENDS_SESSIONS'], true),
    passwordChangeRequiresReauthentication: flag(
      env,
      ['LATCHKEY_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION', 'GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION'],
      false,
    ),
  };
}
