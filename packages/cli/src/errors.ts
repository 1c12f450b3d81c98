import { CliError, ExitCode } from './exit-codes.js';

/** Codes of the server's configuration and database errors (matched by code, so the server need not load). */
const USAGE_CODES = new Set(['ERR_CONFIG_INVALID']);
const DATABASE_CODES = new Set(['ERR_DATABASE_UNAVAILABLE', 'ERR_DATABASE_LOCKED', 'ERR_MIGRATION_FAILED']);
/** Admin refusals that are the caller's mistake (exit 2); every other admin refusal exits 1. */
const ADMIN_USAGE_CODES = new Set(['keys_from_environment', 'organization_not_found', 'bad_request']);
const ADMIN_ERRORS = new Set(['AdminError', 'AdminRefusedError']);

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Turns any failure into one line and an exit code; never a stack trace. */
export function describeFailure(error: unknown): { line: string; exitCode: ExitCode } {
  if (error instanceof CliError) return { line: error.message, exitCode: error.exitCode };
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && ADMIN_ERRORS.has(error.name)) {
    return { line: message, exitCode: code && ADMIN_USAGE_CODES.has(code) ? ExitCode.Usage : ExitCode.Failure };
  }
  if (code && USAGE_CODES.has(code)) return { line: message, exitCode: ExitCode.Usage };
  if (code && DATABASE_CODES.has(code)) {
    const source = process.env.DATABASE_URL ? 'DATABASE_URL' : 'database';
    return { line: `${source}: ${message}`, exitCode: ExitCode.Usage };
  }
  return { line: message, exitCode: ExitCode.Failure };
}
