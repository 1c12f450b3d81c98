/** Stable codes for database failures that reach operators. */
export type DatabaseErrorCode = 'ERR_DATABASE_UNAVAILABLE' | 'ERR_DATABASE_LOCKED' | 'ERR_MIGRATION_FAILED';

/** Base class of the database layer's errors. */
export class DatabaseError extends Error {
  override readonly name: string = 'DatabaseError';
  readonly code: DatabaseErrorCode;

  constructor(code: DatabaseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The database could not be reached within the connect timeout. */
export class DatabaseUnavailableError extends DatabaseError {
  override readonly name = 'DatabaseUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DATABASE_UNAVAILABLE', message, options);
  }
}

/** The embedded data directory is in use by another running process. */
export class DatabaseLockedError extends DatabaseError {
  override readonly name = 'DatabaseLockedError';
  constructor(message: string) {
    super('ERR_DATABASE_LOCKED', message);
  }
}

/** A migration failed to apply; nothing of it was kept. */
export class MigrationError extends DatabaseError {
  override readonly name = 'MigrationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_MIGRATION_FAILED', message, options);
  }
}
