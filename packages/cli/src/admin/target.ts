/**
 * How an admin command reaches the data: through the admin socket of a server running on the same data
 * directory and database when there is one, otherwise by opening the database itself. With the embedded
 * database a running server holds the only connection, so the command never opens a second one; while
 * a server is still starting (the directory is locked, the socket not yet open) it waits up to 5 s for
 * the socket.
 *
 * @module
 */
import type { AdminOperations, ServerConfig, ServerFlags } from '@latchkey/server';
import { AdminUnreachableError, socketOperations, type SocketOperations } from './socket-client.js';

/** Flags of the admin commands naming the database. */
export interface DatabaseFlags extends ServerFlags {
  readonly json?: boolean;
}

/** How long a command waits for the socket of a server that holds the embedded database. */
const STARTING_SERVER_WAIT_MS = 5000;

/** The configuration the command reads, and the socket of a server on the same database (if any could exist). */
export interface AdminTarget {
  readonly config: ServerConfig;
  readonly socket: SocketOperations | null;
  /** Runs `work` directly on the database (no server holds it). */
  direct<T>(write: boolean, work: (operations: AdminOperations) => Promise<T>): Promise<T>;
}

/** Resolves the data directory and database the way `latchkey serve` would with the same flags. */
export async function resolveAdminTarget(flags: DatabaseFlags): Promise<AdminTarget> {
  const server = await import('@latchkey/server');
  const config = server.loadServerConfig(process.env, { databaseUrl: flags.databaseUrl, dataDir: flags.dataDir });
  const id = server.databaseIdentity(config.database);
  return {
    config,
    socket: id === null ? null : socketOperations(server.adminSocketPath(config.dataDir), server.DATABASE_HEADER, id),
    direct: (write, work) => server.withDatabaseOperations(config, process.env, { write }, work),
  };
}

async function viaSocket<T>(socket: SocketOperations | null, work: (operations: AdminOperations) => Promise<T>): Promise<{ done: true; value: T } | { done: false }> {
  if (!socket) return { done: false };
  try {
    return { done: true, value: await work(socket) };
  } catch (error) {
    if (error instanceof AdminUnreachableError) return { done: false };
    throw error;
  }
}

function isLocked(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ERR_DATABASE_LOCKED';
}

/**
 * Runs an admin operation through a running server when one serves this database, else on the
 * database directly. `write: false` operations create nothing (not even an embedded data directory).
 */
export async function runAdmin<T>(flags: DatabaseFlags, write: boolean, work: (operations: AdminOperations) => Promise<T>): Promise<T> {
  const target = await resolveAdminTarget(flags);
  const first = await viaSocket(target.socket, work);
  if (first.done) return first.value;
  try {
    return await target.direct(write, work);
  } catch (error) {
    if (!isLocked(error) || !target.socket) throw error;
    const deadline = Date.now() + STARTING_SERVER_WAIT_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const retried = await viaSocket(target.socket, work);
      if (retried.done) return retried.value;
    }
    throw error;
  }
}
