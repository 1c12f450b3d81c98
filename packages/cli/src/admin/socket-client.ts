import http from 'node:http';
import type { AdminErrorCode, AdminOperations, StatusReport } from '@latchkey/server';

/** Nothing serves this database on the socket: no file, nobody listening, or a server on another database. */
export class AdminUnreachableError extends Error {
  override readonly name = 'AdminUnreachableError';
}

/** A refusal from the running server, with the admin protocol's stable code. */
export class AdminRefusedError extends Error {
  override readonly name = 'AdminRefusedError';
  readonly code: AdminErrorCode | 'unexpected_failure';

  constructor(code: AdminErrorCode | 'unexpected_failure', message: string) {
    super(message);
    this.code = code;
  }
}

/** Connection failures that mean "no server here". */
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'ENOTDIR', 'EACCES']);

/** `/mail` or `/sms` with the outbox query (`to`, `limit`). */
function outboxPath(path: string, query: { readonly to?: string; readonly limit?: number }): string {
  const search = new URLSearchParams();
  if (query.to !== undefined) search.set('to', query.to);
  if (query.limit !== undefined) search.set('limit', String(query.limit));
  return `${path}${search.size > 0 ? `?${search}` : ''}`;
}

/** The admin operations of a running server, reached over its Unix socket (see the server's admin protocol). */
export interface SocketOperations extends AdminOperations {
  status(): Promise<StatusReport>;
}

/**
 * Speaks the admin protocol on `socketPath`, naming `databaseId` in every request. Throws
 * {@link AdminUnreachableError} before anything happened when no server of that database answers.
 */
export function socketOperations(socketPath: string, databaseHeader: string, databaseId: string): SocketOperations {
  const call = <T>(method: string, path: string, body?: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const request = http.request(
        {
          socketPath,
          method,
          path,
          headers: { [databaseHeader]: databaseId, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              reject(new AdminRefusedError('unexpected_failure', `the server's admin socket answered HTTP ${response.statusCode} without JSON`));
              return;
            }
            const status = response.statusCode ?? 500;
            if (status < 300) {
              resolve(parsed as T);
              return;
            }
            const { code, message } = parsed as { code?: AdminErrorCode | 'unexpected_failure'; message?: string };
            if (code === 'database_mismatch') reject(new AdminUnreachableError(message ?? 'another database'));
            else reject(new AdminRefusedError(code ?? 'unexpected_failure', message ?? `HTTP ${status}`));
          });
          response.on('error', reject);
        },
      );
      request.on('error', (error: NodeJS.ErrnoException) => {
        reject(error.code && UNREACHABLE.has(error.code) ? new AdminUnreachableError(`${socketPath}: ${error.code}`) : error);
      });
      request.end(payload);
    });
  return {
    status: () => call('GET', '/status'),
    keys: () => call('GET', '/keys'),
    rotateKeys: () => call('POST', '/keys/rotate'),
    listClients: () => call('GET', '/clients'),
    createClient: (input) => call('POST', '/clients', input),
    deleteClient: (id) => call('DELETE', `/clients/${encodeURIComponent(id)}`),
    createUser: (input) => call('POST', '/users', input),
    mail: (query) => call('GET', outboxPath('/mail', query)),
    sms: (query) => call('GET', outboxPath('/sms', query)),
    audit: (query) => {
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value));
      return call('GET', `/audit${search.size > 0 ? `?${search}` : ''}`);
    },
    pruneAudit: (input) => call('POST', '/audit/prune', input),
    migrate: () => call('POST', '/migrate'),
  };
}
