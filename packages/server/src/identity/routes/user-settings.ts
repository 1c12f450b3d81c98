import { parseBoolean, readSetting, type Environment } from '../../config/index.js';

/** What changing one's email address or password requires (`PUT /user`). */
export interface UserUpdateSettings {
  /**
   * An email change needs confirmation from both the old and the new address
   * (`LATCHKEY_MAILER_SECURE_EMAIL_CHANGE_ENABLED` / `GOTRUE_MAILER_SECURE_EMAIL_CHANGE_ENABLED`); off, the
   * new address alone confirms. Default true.
   */
  readonly secureEmailChange: boolean;
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
    secureEmailChange: flag(env, ['LATCHKEY_MAILER_SECURE_EMAIL_CHANGE_ENABLED', 'GOTRUE_MAILER_SECURE_EMAIL_CHANGE_ENABLED'], true),
    passwordChangeEndsSessions: flag(env, ['LATCHKEY_PASSWORD_CHANGE_ENDS_SESSIONS'], true),
    passwordChangeRequiresReauthentication: flag(
      env,
      ['LATCHKEY_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION', 'GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION'],
      false,
    ),
  };
}
