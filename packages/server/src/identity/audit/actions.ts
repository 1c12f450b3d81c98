/**
 * Audit actions, named as Supabase Auth (GoTrue) names them in `payload.action`, and the `log_type`
 * each belongs to. Tools that read GoTrue's audit log switch on these, so they never change.
 */
export const AUDIT_LOG_TYPES = {
  login: 'account',
  logout: 'account',
  invite_accepted: 'account',
  user_signedup: 'team',
  user_invited: 'team',
  user_deleted: 'team',
  token_revoked: 'token',
  token_refreshed: 'token',
  user_modified: 'user',
  user_recovery_requested: 'user',
  user_reauthenticate_requested: 'user',
  user_confirmation_requested: 'user',
  user_repeated_signup: 'user',
  user_updated_password: 'user',
  identity_linked: 'user',
  identity_unlinked: 'user',
  passkey_created: 'user',
  passkey_updated: 'user',
  passkey_deleted: 'user',
  factor_in_progress: 'factor',
  factor_unenrolled: 'factor',
  challenge_created: 'factor',
  verification_attempted: 'factor',
  factor_deleted: 'factor',
  factor_updated: 'factor',
} as const;

/** One audit action (`payload.action`). */
export type AuditAction = keyof typeof AUDIT_LOG_TYPES;

/** The group of an action (`payload.log_type`). */
export type AuditLogType = (typeof AUDIT_LOG_TYPES)[AuditAction];

/** Every action, in the order above. */
export const AUDIT_ACTIONS = Object.keys(AUDIT_LOG_TYPES) as AuditAction[];

export function isAuditAction(value: string): value is AuditAction {
  return Object.hasOwn(AUDIT_LOG_TYPES, value);
}
