/**
 * Helpers for the command definitions in this folder. A definition declares a command's arguments and
 * options and imports the module that runs it only when the command is chosen, so `latchkey token`
 * loads neither the server package nor the realtime client.
 *
 * @module
 */
import type { Command } from 'commander';

/** A module that adds one command (with its subcommands) to the program. */
export interface CommandDefinition {
  register(program: Command): void;
}

/** Options of every command that talks to a server over HTTP as a user. */
export function withServerUrl(command: Command): Command {
  return command
    .option('--url <url>', 'server base URL (LATCHKEY_URL; default: the one logged in to, else http://127.0.0.1:8000)')
    .option('--anon-key <key>', 'anon key sent as apikey (LATCHKEY_ANON_KEY); optional')
    .option('--json', 'print JSON');
}

/** Options of every command that works on the server's database (directly or through a running server). */
export function withDatabase(command: Command, json = 'print the result as JSON'): Command {
  return command
    .option('--database-url <url>', 'PostgreSQL URL (DATABASE_URL)')
    .option('--data-dir <dir>', 'folder of the embedded database and the admin socket (LATCHKEY_DATA_DIR)')
    .option('--json', json);
}

/** Collects a repeatable option's values. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
