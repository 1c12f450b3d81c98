export type { Database, Queryable, QueryResult, Row, TransactionHandle } from './types.js';
export { DatabaseError, DatabaseLockedError, DatabaseUnavailableError, MigrationError, type DatabaseErrorCode } from './errors.js';
export { openDatabase, openPgliteDatabase, openPostgresDatabase } from './open.js';
export type { PostgresOptions } from './postgres.js';
export type { NotificationHandlers, Notifications } from './notification-types.js';
export { redactDatabaseUrl } from './redact.js';
export { migrate, readMigrations, MIGRATIONS_DIR, type Migration, type MigrationReport } from './migrate.js';
