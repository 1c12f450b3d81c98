import type { Command } from 'commander';
import type { runListen } from '../commands/listen.js';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  withServerUrl(program.command('listen').description('print the publications of a channel until interrupted'))
    .argument('<channel>', 'channel name')
    .option('--timeout <seconds>', 'connection timeout', '10')
    .action(async (channel: string, flags: Parameters<typeof runListen>[1]) => {
      await (await import('../commands/listen.js')).runListen(channel, flags);
    });
}
