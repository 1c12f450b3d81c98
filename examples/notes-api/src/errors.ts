/** Stable codes of the notes API's errors (authentication errors come from `@latchkey/verify`). */
export type ApiErrorCode = 'invalid_request' | 'not_found' | 'insufficient_scope' | 'no_organization' | 'internal_error';

/** An answer other than success: HTTP status, stable code, description safe to show. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: ApiErrorCode;

  constructor(status: number, code: ApiErrorCode, description: string) {
    super(description);
    this.status = status;
    this.code = code;
  }

  /** The JSON body, shaped like RFC 6750 error bodies so clients parse one format. */
  get body(): { error: ApiErrorCode; error_description: string } {
    return { error: this.code, error_description: this.message };
  }
}

function sqlState(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** PostgreSQL refused a row under row-level security (SQLSTATE 42501). */
export function isRowSecurityViolation(error: unknown): boolean {
  return sqlState(error) === '42501';
}

/** PostgreSQL found no row for a foreign key (SQLSTATE 23503). */
export function isForeignKeyViolation(error: unknown): boolean {
  return sqlState(error) === '23503';
}

/**
 * The database could not be reached: Latchkey's database layer throws errors with the stable code
 * `ERR_DATABASE_UNAVAILABLE` (answered 503 with `Retry-After`, never 500).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return sqlState(error) === 'ERR_DATABASE_UNAVAILABLE';
}
