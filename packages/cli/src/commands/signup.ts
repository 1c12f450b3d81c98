import { paint } from './style.js';
import { readCredentials, type CredentialFlags } from './prompt.js';
import { openUserContext, printJson, runUserCommand, writeSavedConfig, type UserFlags } from './user-context.js';

/**
 * `latchkey signup [--email E] [--password-stdin]`: creates an account (`POST /auth/v1/signup`). When
 * the server confirms sign-ups at once (Latchkey's default) the answer's session becomes the stored
 * one, as after `latchkey login`; otherwise the command says to confirm the address first.
 */
export async function runSignup(flags: UserFlags & CredentialFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const { email, password } = await readCredentials(flags, env, { confirm: true });
    const { user, tokens } = await context.api.auth.signUp({ email, password });
    if (tokens) await writeSavedConfig(context.configPath, { url: context.url, ...(context.anonKey ? { anon_key: context.anonKey } : {}) });
    if (flags.json) {
      printJson({ url: context.url, user, logged_in: tokens !== null });
    } else if (tokens) {
      process.stdout.write(`${paint('Signed up', 'green')} to ${context.url} as ${user?.email ?? email}; you are logged in\n`);
    } else {
      process.stdout.write(`Signed up as ${email}: confirm the address with the mail the server sent (\`latchkey mail\` shows the development outbox), then run \`latchkey login\`\n`);
    }
  });
}
