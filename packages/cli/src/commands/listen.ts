import { CliError, ExitCode } from '../exit-codes.js';
import { assertReachable, connectRealtime } from './realtime-session.js';
import { parseTimeout } from './rpc.js';
import { openUserContext, printJson, runUserCommand, type UserFlags } from './user-context.js';

/**
 * `latchkey listen <channel>`: subscribes and prints each publication's data as one JSON line (with
 * `--json`, `{channel, offset, data, info}`), reconnecting and resubscribing by itself, until Ctrl-C or
 * SIGTERM (exit 0). Exit code 3 when the session needs a new login, 1 when the subscription is refused.
 */
export async function runListen(channel: string, flags: UserFlags & { timeout?: string }, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!channel) throw new CliError('a channel is required', ExitCode.Usage);
  const timeoutMs = parseTimeout(flags.timeout);
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    await assertReachable(context.url);
    const { client, ready, reauth } = connectRealtime(context, timeoutMs);
    const stopped = new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    const refused = new Promise<never>((_, reject) => {
      const subscription = client.subscribe(channel, (data, publication) => {
        if (flags.json) printJson({ channel, offset: publication.offset ?? null, data, info: publication.info ?? null });
        else printJson(data);
      });
      subscription.on('subscribed', () => process.stderr.write(`listening on ${channel}\n`));
      subscription.on('unsubscribed', (ctx) => {
        if (ctx.code !== 0) reject(new CliError(`subscription to ${channel} refused: ${ctx.code} ${ctx.reason}`, ExitCode.Failure));
      });
    });
    refused.catch(() => undefined);
    try {
      await Promise.race([ready, stopped]);
      await Promise.race([stopped, reauth, refused]);
    } finally {
      client.disconnect();
    }
  });
}
