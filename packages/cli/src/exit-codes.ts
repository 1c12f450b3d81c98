/** Exit codes of the `latchkey` command, stable for scripts. */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** An operation failed (network, server error). */
  Failure: 1,
  /** Bad usage or configuration: a flag, an environment variable or an unreachable database. */
  Usage: 2,
  /** Not logged in, or the session ended: run `latchkey login`. */
  AuthRequired: 3,
  /** Interrupted with Ctrl-C at a prompt (128 + SIGINT, as shells report it). */
  Interrupted: 130,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that ends the command with a given exit code and one line of output. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = ExitCode.Failure) {
    super(message);
    this.exitCode = exitCode;
  }
}
