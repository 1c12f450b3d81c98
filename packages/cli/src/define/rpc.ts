import type { Command } from 'commander';
import type { runRpc } from '../commands/rpc.js';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('rpc').description('call an RPC method of the realtime gateway'))
    .argument('<method>', 'RPC method')
    .argument('[json]', 'parameters as JSON')
    .option('--timeout <seconds>', 'connection timeout', '10')
    .action(async (method: string, params: string | undefined, flags: Parameters<typeof runRpc>[2]) => {
      await (await import('../commands/rpc.js')).runRpc(method, params, flags);
    });
}
