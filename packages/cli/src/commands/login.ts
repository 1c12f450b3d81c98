import { ClientCredentialsAuth, PasswordAuth, TokenManager, type AuthProvider, type GrantResult } from '@latchkey/client';
import { CliError, ExitCode } from '../exit-codes.js';
import { readCredentials } from './prompt.js';
import { paint } from './style.js';
import { openUserContext, printJson, runUserCommand, writeSavedConfig, type UserFlags } from './user-context.js';

export interface LoginFlags extends UserFlags {
  readonly email?: string;
  readonly password?: string;
  readonly passwordStdin?: boolean;
  readonly totp?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly viaSocket?: boolean;
}

/**
 * `latchkey login`: starts a session and keeps it in the session file.
 * - with `--via-socket`, the password grant (and `--totp`) goes over the realtime gateway as an
 *   `auth.login` RPC on a connection without a token;
 * - e-mail and password (prompted when not given; the password prompt is hidden) through
 *   `POST /auth/v1/token?grant_type=password`;
 * - with `--totp`, through the OAuth token endpoint `POST /auth/v1/oauth/token` (password + TOTP);
 * - with `--client-id`/`--client-secret` (or `LATCHKEY_CLIENT_SECRET`), the client credentials grant on
 *   the OAuth token endpoint.
 */
export async function runLogin(flags: LoginFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const context = await openUserContext(flags, env);
  await runUserCommand(context.url, async () => {
    const clientSecret = flags.clientSecret ?? env.LATCHKEY_CLIENT_SECRET;
    let result: GrantResult;
    let subject: string;
    if (flags.clientId !== undefined || flags.clientSecret !== undefined) {
      if (!flags.clientId || !clientSecret) throw new CliError('--client-id and --client-secret go together', ExitCode.Usage);
      if (flags.viaSocket) throw new CliError('--via-socket signs in with an e-mail and password, not a client', ExitCode.Usage);
      result = await oauthManager(context.url, context.anonKey, context.store).login(new ClientCredentialsAuth(flags.clientId, clientSecret));
      subject = `client ${flags.clientId}`;
    } else {
      const { email, password } = await readCredentials(flags, env);
      let provider: AuthProvider;
      if (flags.totp !== undefined && !/^\d{6,8}$/.test(flags.totp)) throw new CliError('--totp must be the 6-digit code of your authenticator', ExitCode.Usage);
      if (flags.viaSocket) {
        // The grant goes as an auth.login RPC on a gateway connection without a token.
        provider = new PasswordAuth(email, password, flags.totp !== undefined ? { totp: flags.totp } : {});
        const { createNodeRealtimeClient } = await import('@latchkey/client/node');
        result = await createNodeRealtimeClient(`${context.url.replace(/^http/, 'ws')}/connection/websocket`, { provider, store: context.store }).manager.login(provider);
      } else if (flags.totp !== undefined) {
        provider = new PasswordAuth(email, password, { totp: flags.totp });
        result = await oauthManager(context.url, context.anonKey, context.store).login(provider);
      } else {
        provider = new PasswordAuth(email, password);
        result = await context.api.tokens.login(provider);
      }
      const user = result.body.user as { email?: string } | undefined;
      subject = user?.email ?? email;
    }
    await writeSavedConfig(context.configPath, { url: context.url, ...(context.anonKey ? { anon_key: context.anonKey } : {}) });
    const expiresAt = result.tokens.accessExpiresAt === null ? null : new Date(result.tokens.accessExpiresAt).toISOString();
    if (flags.json) {
      printJson({ url: context.url, user: result.body.user ?? null, expires_at: expiresAt, refresh_token: result.tokens.refreshToken !== null });
    } else {
      process.stdout.write(`${paint('Logged in', 'green')} to ${context.url} as ${subject}\n`);
    }
  });
}

/** A manager on the OAuth token endpoint sharing the session file (TOTP and client credentials). */
function oauthManager(url: string, anonKey: string | undefined, store: TokenManager['store']): TokenManager {
  return new TokenManager(null, { tokenUrl: `${url}/auth/v1/oauth/token`, protocol: 'oauth', apiKey: anonKey, store });
}
