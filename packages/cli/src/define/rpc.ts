import type { Command } from 'commander';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('rpc').description('call an RPC method of the realtime gateway'))
    .argument('<method>', 'RPC method')
    .argument('[json]', 'parameters as JSON')
    .option('--timeout <seconds>', 'connection timeout', '10')
    .action(async (method: string, params: string | undefined, flags) => {
      await (await import('../commands/rpc.js')).runRpc(method, params, flags);
    });
}
