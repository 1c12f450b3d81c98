import type { KeysReport, StatusReport } from '@latchkey/server';
import { resolveAdminTarget, type DatabaseFlags } from '../admin/target.js';
import { AdminUnreachableError } from '../admin/socket-client.js';
import { ExitCode } from '../exit-codes.js';

/** `latchkey status --json` when no server answers on the admin socket. */
export interface StoppedStatus {
  readonly running: false;
  /** The URL a server started with these settings would listen on, and whether something answers there. */
  readonly url: string;
  readonly url_answers: boolean;
  readonly database: { readonly kind: 'pglite' | 'postgres'; readonly location: string };
  readonly data_dir: string;
  readonly admin_socket: string | null;
  readonly anon_key: string | null;
  readonly service_role_key: string | null;
  /** Why the keys are missing, when they are. */
  readonly note: string | null;
}

async function answersHealth(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function row(label: string, value: string | null): string {
  return `${label.padStart(17)}  ${value ?? '—'}\n`;
}

function printRunning(status: StatusReport): void {
  process.stdout.write(
    `Latchkey is running (pid ${status.pid}, since ${status.started_at})\n\n` +
      row('URL', status.public_url) +
      row('identity', status.urls.identity) +
      row('JWKS', status.urls.jwks) +
      row('gateway', status.urls.gateway) +
      row('API', status.urls.api) +
      row('health', status.urls.health) +
      row('database', `${status.database.kind === 'pglite' ? 'embedded' : 'PostgreSQL'} ${status.database.location}`) +
      row('data directory', status.data_dir) +
      row('admin socket', status.admin_socket) +
      row('anon key', status.anon_key) +
      row('service_role key', status.service_role_key),
  );
}

function printStopped(status: StoppedStatus): void {
  const answer = status.url_answers ? `${status.url} answers, but not on this data directory's admin socket` : `nothing answers at ${status.url}`;
  process.stdout.write(
    `No Latchkey server runs on this data directory (${answer})\n\n` +
      row('database', `${status.database.kind === 'pglite' ? 'embedded' : 'PostgreSQL'} ${status.database.location}`) +
      row('data directory', status.data_dir) +
      row('anon key', status.anon_key) +
      row('service_role key', status.service_role_key) +
      (status.note ? `\n${status.note}\n` : ''),
  );
}

/**
 * `latchkey status [--json]`: whether a server runs on this data directory and database (asked on its
 * admin socket), its URLs, where the data is and the API keys. Without a server it reports the stored
 * keys (reading only) and whether anything answers at the configured URL. Exit code 0 when a server
 * runs, 1 when none does.
 */
export async function runStatus(flags: DatabaseFlags): Promise<void> {
  const target = await resolveAdminTarget(flags);
  if (target.socket) {
    try {
      const status = await target.socket.status();
      if (flags.json) process.stdout.write(`${JSON.stringify(status)}\n`);
      else printRunning(status);
      return;
    } catch (error) {
      if (!(error instanceof AdminUnreachableError)) throw error;
    }
  }
  const { config } = target;
  const server = await import('@latchkey/server');
  const url = config.publicUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  let keys: KeysReport | null = null;
  let note: string | null = null;
  try {
    keys = await target.direct(false, (admin) => admin.keys());
  } catch (error) {
    note = error instanceof Error ? error.message : String(error);
  }
  const status: StoppedStatus = {
    running: false,
    url,
    url_answers: await answersHealth(url),
    database: { kind: config.database.kind, location: server.databaseLocation(config.database) },
    data_dir: config.dataDir,
    admin_socket: null,
    anon_key: keys?.anon_key ?? null,
    service_role_key: keys?.service_role_key ?? null,
    note,
  };
  if (flags.json) process.stdout.write(`${JSON.stringify(status)}\n`);
  else printStopped(status);
  process.exitCode = ExitCode.Failure;
}
