import { openUserContext, printJson, runUserCommand, type UserFlags } from './user-context.js';

/**
 * `latchkey token`: prints a valid access token, refreshing it first when it is about to expire, for
 * scripts: `curl -H "Authorization: Bearer $(latchkey token)" …`. Exit code 3 when not logged in.
 */
export async function runToken(flags: UserFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const tokens = await context.api.tokens.getTokens();
    if (flags.json) {
      printJson({
        access_token: tokens.accessToken,
        token_type: tokens.tokenType,
        expires_at: tokens.accessExpiresAt === null ? null : Math.floor(tokens.accessExpiresAt / 1000),
      });
    } else {
      process.stdout.write(`${tokens.accessToken}\n`);
    }
  });
}
