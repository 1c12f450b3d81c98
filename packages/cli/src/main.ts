import { CommanderError } from 'commander';
import { describeFailure } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { buildProgram } from './program.js';

/** Entry point of the `latchkey` binary. Prints one line per failure and sets the exit code. */
export async function main(argv: readonly string[]): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
      return;
    }
    const { line, exitCode } = describeFailure(error);
    process.stderr.write(`latchkey: ${line}\n`);
    process.exit(exitCode);
  }
}
