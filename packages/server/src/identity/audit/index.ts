export { AUDIT_ACTIONS, AUDIT_LOG_TYPES, isAuditAction, type AuditAction, type AuditLogType } from './actions.js';
export {
  AuditLog,
  NIL_UUID,
  adminActor,
  auditPayload,
  userActor,
  type AuditActor,
  type AuditEntryJson,
  type AuditPayload,
  type AuditRecord,
  type AuditWriter,
} from './audit-log.js';
export { loadAuditSettings, type AuditSettings } from './settings.js';
export { pruneAuditLog, readAuditLog, type AuditFilter, type AuditPage } from '../store/audit.js';
