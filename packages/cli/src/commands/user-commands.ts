import type { Command } from 'commander';
import { runCall } from './call.js';
import { runListen } from './listen.js';
import { runLogin } from './login.js';
import { runLogout } from './logout.js';
import { runRpc } from './rpc.js';
import { runToken } from './token.js';
import { runWhoami } from './whoami.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function withServer(command: Command): Command {
  return command
    .option('--url <url>', 'server base URL (LATCHKEY_URL; default: the one logged in to, else http://127.0.0.1:8000)')
    .option('--anon-key <key>', 'anon key sent as apikey (LATCHKEY_ANON_KEY); optional')
    .option('--json', 'print JSON');
}

/** Adds the user commands: login, logout, token, whoami, call, rpc, listen. */
export function registerUserCommands(program: Command): void {
  withServer(program.command('login').description('log in and keep the session for later commands'))
    .option('--email <email>', 'e-mail address (prompted when absent)')
    .option('--password <password>', 'password (prompted, hidden, when absent; LATCHKEY_PASSWORD)')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--totp <code>', 'current TOTP code, for accounts with two-factor authentication')
    .option('--client-id <id>', 'log in as an OAuth client (client credentials)')
    .option('--client-secret <secret>', 'the client secret (LATCHKEY_CLIENT_SECRET)')
    .action(async (flags) => {
      await runLogin(flags);
    });

  withServer(program.command('logout').description('end the session on the server and delete it locally'))
    .option('--scope <scope>', 'local (this session), global (all sessions) or others', 'local')
    .action(async (flags) => {
      await runLogout(flags);
    });

  withServer(program.command('token').description('print a valid access token, refreshing it if needed')).action(async (flags) => {
    await runToken(flags);
  });

  withServer(program.command('whoami').description('show the user the session belongs to')).action(async (flags) => {
    await runWhoami(flags);
  });

  withServer(program.command('call').description('send an HTTP request with the session token, like curl'))
    .argument('<method>', 'HTTP method')
    .argument('<path>', 'path (resolved against the server URL) or full URL')
    .option('-d, --data <body>', 'request body; @file reads a file, @- reads stdin')
    .option('-H, --header <header>', '"name: value" header (repeatable)', collect)
    .option('-i, --include', 'print the status line and headers')
    .action(async (method: string, path: string, flags) => {
      await runCall(method, path, flags);
    });

  withServer(program.command('rpc').description('call an RPC method of the realtime gateway'))
    .argument('<method>', 'RPC method')
    .argument('[json]', 'parameters as JSON')
    .option('--timeout <seconds>', 'connection timeout', '10')
    .action(async (method: string, params: string | undefined, flags) => {
      await runRpc(method, params, flags);
    });

  withServer(program.command('listen').description('print the publications of a channel until interrupted'))
    .argument('<channel>', 'channel name')
    .option('--timeout <seconds>', 'connection timeout', '10')
    .action(async (channel: string, flags) => {
      await runListen(channel, flags);
    });
}
