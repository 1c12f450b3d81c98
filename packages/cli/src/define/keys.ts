import type { Command } from 'commander';
import type { KeysFlags } from '../commands/keys.js';
import { withDatabase } from './shared.js';

export function register(program: Command): void {
  const keys = withDatabase(program.command('keys').description('print the anon and service_role API keys'), 'print {"anon_key","service_role_key"} as JSON').action(
    async (flags: KeysFlags) => {
      await (await import('../commands/keys.js')).runKeys(flags);
    },
  );
  withDatabase(keys.command('rotate').description('add a new signing key; the previous one stays published until its tokens expire')).action(
    async (flags: KeysFlags, command: Command) => {
      await (await import('../commands/keys.js')).runKeysRotate({ ...(command.parent?.opts() as KeysFlags), ...flags });
    },
  );
}
