import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerSessionsCommand } from './commands/sessions.js';
import { registerUserCommands } from './commands/user-commands.js';

/** This package's version (`package.json` sits one folder above both `src/` and `dist/`). */
const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Commands registered by `server-commands.ts`; every other command needs only the client SDK. */
const SERVER_COMMANDS = new Set(['serve', 'migrate', 'keys', 'clients', 'mail']);

/**
 * The `latchkey` command tree. Each command lives in `commands/`. The server package is loaded only
 * for the commands that need it, so `latchkey token` starts fast.
 */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command('latchkey')
    .description('Latchkey: self-hosted authentication for APIs')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();

  const command = argv[2];
  const version = command === '--version' || command === '-V';
  const wantsServer = command === undefined || (command.startsWith('-') && !version) || command === 'help' || SERVER_COMMANDS.has(command);
  if (wantsServer) {
    const { registerServerCommands } = await import('./server-commands.js');
    registerServerCommands(program);
  }
  registerUserCommands(program);
  registerSessionsCommand(program);
  return program;
}
