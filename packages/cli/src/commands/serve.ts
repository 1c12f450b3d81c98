import { defaultServices, startServer, type RunningServer, type ServerExtension, type StartOptions } from '@latchkey/server';
import { CliError, ExitCode } from '../exit-codes.js';

export interface ServeFlags {
  readonly host?: string;
  readonly port?: string;
  readonly databaseUrl?: string;
  readonly dataDir?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

/**
 * Stops the server on SIGINT or SIGTERM: stop accepting, finish in-flight requests, close the database,
 * exit 0. Past the configured shutdown timeout the process exits 1 with what is left unfinished. With
 * TLS, SIGHUP reloads the certificate and key files without dropping connections.
 */
export function closeOnSignal(server: RunningServer): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      server.logger.error('shutdown timed out; exiting with requests unfinished');
      process.exit(1);
    }, server.config.shutdownTimeout * 1000);
    deadline.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // SIGHUP loads renewed certificate files; open connections keep going.
  if (server.config.tls) process.on('SIGHUP', () => server.reloadTls());
}

/** Runs the whole stack until interrupted and prints the banner. */
export async function serve(flags: ServeFlags, options: Omit<StartOptions, 'flags'> = {}): Promise<RunningServer> {
  const server = await startServer({ ...options, flags });
  closeOnSignal(server);
  process.stderr.write(`\nLatchkey is running\n${server.banner.map((line) => `  ${line}`).join('\n')}\n\n`);
  return server;
}

/** The package of the example app: part of the repository, not of the published packages. */
const EXAMPLE_PACKAGE = '@latchkey/example-notes-api';

/**
 * The example notes API as an extension of the server. It ships with the repository
 * (examples/notes-api), so an install from the registry has no `--example`.
 */
export async function exampleExtension(): Promise<ServerExtension> {
  try {
    const { notesApi } = await import('@latchkey/example-notes-api');
    return notesApi();
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(EXAMPLE_PACKAGE);
    if (missing) throw new CliError(`--example: ${EXAMPLE_PACKAGE} is not installed; it ships with the repository (examples/notes-api), run \`npm install\` there`, ExitCode.Usage);
    throw error;
  }
}

/** `latchkey serve [--gateway-config FILE] [--example]`. */
export async function runServe(flags: ServeFlags & { readonly gatewayConfig?: string; readonly example?: boolean }): Promise<void> {
  const { gatewayConfig, example, ...serverFlags } = flags;
  await serve(serverFlags, {
    ...(gatewayConfig ? { services: defaultServices({ gatewayConfig }) } : {}),
    ...(example ? { extensions: [await exampleExtension()] } : {}),
  });
}
