import { createRequire } from 'node:module';
import { Command } from 'commander';
import type { CommandDefinition } from './define/shared.js';

/**
 * Every command, in the order `latchkey --help` lists them: one line each. A definition module only
 * declares arguments and options; the module that runs a command is imported when it is chosen.
 */
const COMMANDS: ReadonlyArray<() => Promise<CommandDefinition>> = [
  () => import('./define/serve.js'),
  () => import('./define/status.js'),
  () => import('./define/migrate.js'),
  () => import('./define/keys.js'),
  () => import('./define/clients.js'),
  () => import('./define/users.js'),
  () => import('./define/webhooks.js'),
  () => import('./define/mail.js'),
  () => import('./define/audit.js'),
  () => import('./define/sms.js'),
  () => import('./define/signup.js'),
  () => import('./define/login.js'),
  () => import('./define/logout.js'),
  () => import('./define/token.js'),
  () => import('./define/whoami.js'),
  () => import('./define/orgs.js'),
  () => import('./define/sessions.js'),
  () => import('./define/call.js'),
  () => import('./define/rpc.js'),
  () => import('./define/listen.js'),
];

/** This package's version (`package.json` sits one folder above both `src/` and `dist/`). */
export const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** The `latchkey` command tree. */
export async function buildProgram(): Promise<Command> {
  const program = new Command('latchkey')
    .description('Latchkey: self-hosted authentication for APIs')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  for (const definition of await Promise.all(COMMANDS.map((load) => load()))) definition.register(program);
  return program;
}
