import { CliError, ExitCode } from '../exit-codes.js';
import { assertReachable, connectRealtime, describeRealtimeError } from './realtime-session.js';
import { openUserContext, printJson, runUserCommand, type UserFlags } from './user-context.js';

/**
 * `latchkey rpc <method> [json]`: calls an RPC method of the realtime gateway with the session's token
 * and prints the result's data as JSON. Exit code 1 when the gateway answers with an error.
 */
export async function runRpc(method: string, params: string | undefined, flags: UserFlags & { timeout?: string }, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let data: unknown = {};
  if (params !== undefined) {
    try {
      data = JSON.parse(params);
    } catch {
      throw new CliError(`params must be JSON (got ${JSON.stringify(params)})`, ExitCode.Usage);
    }
  }
  const timeoutMs = parseTimeout(flags.timeout);
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    await assertReachable(context.url);
    const { client, ready, reauth } = connectRealtime(context, timeoutMs);
    try {
      await ready;
      let result: unknown;
      try {
        result = await Promise.race([client.rpc(method, data), reauth]);
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(`rpc ${method} failed: ${describeRealtimeError(error)}`, ExitCode.Failure);
      }
      if (flags.json || typeof result !== 'string') printJson(result ?? null);
      else process.stdout.write(`${result}\n`);
    } finally {
      client.disconnect();
    }
  });
}

export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return 10_000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(`--timeout must be a positive number of seconds (got ${JSON.stringify(value)})`, ExitCode.Usage);
  return seconds * 1000;
}
