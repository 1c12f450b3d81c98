export type { Database, Queryable, QueryResult, Row, TransactionHandle } from './types.js';
export { DatabaseError, DatabaseLockedError, DatabaseUnavailableError, MigrationError, type DatabaseErrorCode } from './errors.js';
export { openDatabase } from './open.js';
export { openPgliteDatabase } from './pglite.js';
export { openPostgresDatabase, redactDatabaseUrl, type PostgresOptions } from './postgres.js';
export { migrate, readMigrations, MIGRATIONS_DIR, type Migration, type MigrationReport } from './migrate.js';
