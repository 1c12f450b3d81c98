import { ConfigError, DatabaseError } from '@latchkey/server';
import { CliError, ExitCode } from './exit-codes.js';

/** Turns any failure into one line and an exit code; never a stack trace. */
export function describeFailure(error: unknown): { line: string; exitCode: ExitCode } {
  if (error instanceof CliError) return { line: error.message, exitCode: error.exitCode };
  if (error instanceof ConfigError) return { line: error.message, exitCode: ExitCode.Usage };
  if (error instanceof DatabaseError) {
    const source = process.env.DATABASE_URL ? 'DATABASE_URL' : 'database';
    return { line: `${source}: ${error.message}`, exitCode: ExitCode.Usage };
  }
  if (error instanceof Error) return { line: error.message, exitCode: ExitCode.Failure };
  return { line: String(error), exitCode: ExitCode.Failure };
}
