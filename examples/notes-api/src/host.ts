import type { FastifyInstance } from 'fastify';
import type { ClaimsDatabase } from '@latchkey/verify';
import type { RevocationSource } from '@latchkey/verify/revocations';

/**
 * What the notes API needs of the process it runs in. `startServer({ extensions })` of
 * `@latchkey/server` (and `latchkey serve --example`) hands its extension host over, which has all of
 * it; an app that runs on its own builds the same from its settings:
 *
 * @example
 * ```ts
 * const app = Fastify();
 * await notesApi().mount({
 *   app,
 *   db: myDatabase, // anything with transaction(work), e.g. a pg pool wrapper
 *   logger: app.log,
 *   publicUrl: () => 'https://api.example.com',
 *   tokens: {
 *     jwksUrl: () => 'https://auth.example.com/auth/v1/.well-known/jwks.json',
 *     issuer: () => 'https://auth.example.com/auth/v1',
 *     audience: 'authenticated',
 *     secret: null,
 *     serviceRoleKey: process.env.LATCHKEY_SERVICE_ROLE_KEY!,
 *   },
 *   revocationSource: () => eventStreamSource({ url: 'https://auth.example.com/auth/v1/revocations', serviceKey: process.env.LATCHKEY_SERVICE_ROLE_KEY! }),
 *   realtime: null,
 * });
 * ```
 */
export interface NotesHost {
  /** The HTTP app the routes are added to (under the API's prefix). */
  readonly app: FastifyInstance;
  /** The database holding `public.notes`; every query runs through `withClaims`. */
  readonly db: ClaimsDatabase;
  readonly logger: NotesLogger;
  /** Base URL clients reach the app at (the OpenAPI document's server). */
  publicUrl(): string;
  /** How to verify the deployment's access tokens with `createVerifier`. */
  readonly tokens: TokenSettings;
  /** The deployment's session-end events, followed so tokens of ended sessions are refused. */
  revocationSource(): RevocationSource;
  /** The identity service's public OpenAPI document, served merged with the notes API's (optional). */
  identityOpenApi?(): Record<string, unknown>;
  /** The realtime gateway, or `null`: without it changes are not broadcast and there are no RPC methods. */
  readonly realtime: NotesRealtime | null;
}

/** The few logging calls the notes API makes (a pino or Fastify logger fits). */
export interface NotesLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

/** The verification settings of the deployment's tokens. */
export interface TokenSettings {
  /** The identity service's JWKS URL. */
  jwksUrl(): string;
  /** The `iss` of access tokens. */
  issuer(): string;
  /** The `aud` of access tokens (`authenticated`). */
  readonly audience: string;
  /** The legacy HS256 secret when the deployment still accepts it, else `null`. */
  readonly secret: string | null;
  /** The service_role API key: a bearer that stands for the service role (no audience, every organization). */
  readonly serviceRoleKey: string;
}

/** The claims of a realtime connection (`null` for anonymous connections). */
export type ConnectionClaims = Readonly<Record<string, unknown>> | null;

/** The realtime gateway as the notes API uses it. */
export interface NotesRealtime {
  /** Publishes `data` to `channel` on every node. */
  publish(channel: string, data: unknown): Promise<void>;
  /** Registers an RPC method clients call with `centrifuge.rpc(method, data)`. */
  registerRpc(method: string, handler: (data: unknown, caller: { readonly claims: ConnectionClaims }) => Promise<unknown>): void;
  /** The error an RPC handler throws to answer with an application `code` (400–1999) and `message`. */
  error(code: number, message: string): Error;
}
