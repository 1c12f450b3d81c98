import type { Command } from 'commander';
import type { runCall } from '../commands/call.js';
import { collect, withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('call').description('send an HTTP request with the session token, like curl'))
    .argument('<method>', 'HTTP method')
    .argument('<path>', 'path (resolved against the server URL) or full URL')
    .option('-d, --data <body>', 'request body; @file reads a file, @- reads stdin')
    .option('-H, --header <header>', '"name: value" header (repeatable)', collect)
    .option('-i, --include', 'print the status line and headers')
    .action(async (method: string, path: string, flags: Parameters<typeof runCall>[2]) => {
      await (await import('../commands/call.js')).runCall(method, path, flags);
    });
}
