// TypeScript consumer, type-checked (never run) against the shipped declarations with `strict` and
// `exactOptionalPropertyTypes`.
import { createVerifier, VerifyError, type Claims, type Verifier, type VerifierOptions } from '@latchkey/verify';
import { bearerHook } from '@latchkey/verify/fastify';
import { verifyStripeWebhook, WebhookError } from '@latchkey/verify/webhooks';
import {
  createRealtimeClient,
  LatchkeyApi,
  MemoryTokenStore,
  PasswordAuth,
  TokenManager,
  TokenSet,
  type LatchkeyApiOptions,
  type RealtimeClient,
  type TokenStore,
} from '@latchkey/client';
import { createNodeRealtimeClient, defaultSessionPath, FileTokenStore } from '@latchkey/client/node';
import { startServer, type RunningServer } from '@latchkey/server';

const options: VerifierOptions = {
  jwksUrl: 'http://127.0.0.1:8000/auth/v1/.well-known/jwks.json',
  issuer: 'http://127.0.0.1:8000/auth/v1',
  audience: ['authenticated'],
  clockTolerance: 5,
  cache: true,
};
const verifier: Verifier = createVerifier(options);

export async function subject(token: string): Promise<string | undefined> {
  try {
    const claims: Claims = await verifier.verify(token);
    return claims.sub;
  } catch (error) {
    if (error instanceof VerifyError) return `${error.code} ${String(error.temporary)}`;
    throw error;
  }
}

export const hook = bearerHook({ verifier });
export const isWebhookError = (error: unknown): boolean => error instanceof WebhookError;
export const stripe: typeof verifyStripeWebhook = verifyStripeWebhook;

const apiOptions: LatchkeyApiOptions = { anonKey: 'anon', store: new FileTokenStore(defaultSessionPath()) };
export const api = new LatchkeyApi('http://127.0.0.1:8000', apiOptions);
const store: TokenStore = new MemoryTokenStore();
export const manager = new TokenManager(new PasswordAuth('ada@example.com', 'correct horse'), {
  tokenUrl: 'http://127.0.0.1:8000/auth/v1/oauth/token',
  store,
  expirySkew: 30,
});
export const header: Promise<string> = manager.authorizationHeader();
export const realtime: RealtimeClient = createRealtimeClient('ws://127.0.0.1:8000/connection/websocket', manager);
export const nodeRealtime: RealtimeClient = createNodeRealtimeClient('ws://127.0.0.1:8000/connection/websocket', manager);
export const isTokenSet = (value: unknown): value is TokenSet => value instanceof TokenSet;
export const serve: () => Promise<RunningServer> = () => startServer();
