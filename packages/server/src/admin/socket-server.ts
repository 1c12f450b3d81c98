import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { SCOPE_TOKEN } from '../identity/oauth/clients.js';
import { isUuid } from '../identity/users.js';
import { DEFAULT_MAX_JSON_DEPTH, findUnsafeValue, parseJsonText, UnsafeInputError } from '../input/index.js';
import type { Logger } from '../logging/logger.js';
import type { AdminOperations } from './operations.js';
import { ADMIN_ERROR_STATUS, AdminError, DATABASE_HEADER, type NewClientInput, type NewUserInput, type StatusReport } from './protocol.js';

/** Largest request body the admin socket reads. */
const MAX_BODY = 64 * 1024;

/** What the admin socket serves. */
export interface AdminSocketOptions {
  /** Socket file; its directory is created with mode 0700. */
  readonly path: string;
  /** Identity of the database this server uses; requests naming another get 409 `database_mismatch`. */
  readonly databaseId: string;
  readonly operations: AdminOperations;
  status(): Promise<StatusReport>;
  readonly logger: Logger;
}

/** A listening admin socket. */
export interface AdminSocket {
  readonly path: string;
  /** Stops listening and removes the socket file (if it is still ours). */
  close(): Promise<void>;
}

/** Whether something accepts connections on the socket file. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function readBody(request: http.IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new AdminError('bad_request', 'request body too large');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return parseJsonText(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new AdminError('bad_request', error instanceof UnsafeInputError ? error.message : 'request body is not JSON');
  }
}

/** `value` when it holds no NUL or unpaired surrogate (which the database refuses); `bad_request` otherwise. */
function safeText(value: string, name: string): string {
  if (findUnsafeValue(value, DEFAULT_MAX_JSON_DEPTH) !== undefined) throw new AdminError('bad_request', `${name} has a NUL or an unpaired surrogate`);
  return value;
}

/** The body of `POST /clients`, checked as the HTTP admin API checks it; `bad_request` otherwise. */
/** The body of `POST /users`; `bad_request` otherwise. */
function newUserInput(body: unknown): NewUserInput {
  const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  if (typeof fields.email !== 'string' || typeof fields.password !== 'string' || typeof fields.admin !== 'boolean') {
    throw new AdminError('bad_request', 'expected {email, password, admin (boolean)}');
  }
  return { email: safeText(fields.email, 'email'), password: fields.password, admin: fields.admin };
}

function newClientInput(body: unknown): NewClientInput {
  const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const name = typeof fields.client_name === 'string' ? fields.client_name.trim() : '';
  const scopes = fields.scopes;
  const organization = fields.organization_id ?? null;
  if (
    name === '' ||
    name.length > 200 ||
    !Array.isArray(scopes) ||
    !scopes.every((scope): scope is string => typeof scope === 'string' && SCOPE_TOKEN.test(scope)) ||
    (organization !== null && !isUuid(organization))
  ) {
    throw new AdminError('bad_request', 'expected {client_name (1 to 200 characters), scopes (scope tokens), organization_id (UUID or null)}');
  }
  return { client_name: name, scopes, organization_id: organization?.toLowerCase() ?? null };
}

function clientId(encoded: string): string {
  let id: string;
  try {
    id = decodeURIComponent(encoded);
  } catch {
    throw new AdminError('bad_request', 'client id is not a valid percent-encoded string');
  }
  return safeText(id, 'client id');
}

async function route(options: AdminSocketOptions, request: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
  const url = URL.canParse(request.url ?? '/', 'http://admin') ? new URL(request.url ?? '/', 'http://admin') : null;
  if (url === null) throw new AdminError('bad_request', 'request target is not a valid path');
  const ops = options.operations;
  const key = `${request.method ?? 'GET'} ${url.pathname}`;
  switch (key) {
    case 'GET /status':
      return { status: 200, body: await options.status() };
    case 'GET /keys':
      return { status: 200, body: await ops.keys() };
    case 'POST /keys/rotate':
      return { status: 200, body: await ops.rotateKeys() };
    case 'GET /clients':
      return { status: 200, body: await ops.listClients() };
    case 'POST /users':
      return { status: 201, body: await ops.createUser(newUserInput(await readBody(request))) };
    case 'POST /clients':
      return { status: 201, body: await ops.createClient(newClientInput(await readBody(request))) };
    case 'GET /mail':
    case 'GET /sms': {
      const to = url.searchParams.get('to');
      if (to !== null) safeText(to, 'to');
      const limit = url.searchParams.get('limit');
      if (limit !== null && !/^\d{1,4}$/.test(limit)) throw new AdminError('bad_request', 'limit must be a whole number');
      const query = { ...(to !== null ? { to } : {}), ...(limit !== null ? { limit: Number(limit) } : {}) };
      return { status: 200, body: key === 'GET /sms' ? await ops.sms(query) : await ops.mail(query) };
    }
    case 'GET /audit': {
      const text = (name: string) => {
        const value = url.searchParams.get(name);
        return value === null ? {} : { [name]: safeText(value, name) };
      };
      const limit = url.searchParams.get('limit');
      if (limit !== null && !/^\d{1,4}$/.test(limit)) throw new AdminError('bad_request', 'limit must be a whole number');
      return { status: 200, body: await ops.audit({ ...text('user_id'), ...text('action'), ...text('since'), ...text('until'), ...(limit !== null ? { limit: Number(limit) } : {}) }) };
    }
    case 'POST /audit/prune': {
      const body = await readBody(request);
      const before = typeof body === 'object' && body !== null ? (body as { before?: unknown }).before : undefined;
      if (typeof before !== 'string') throw new AdminError('bad_request', 'expected {before: ISO 8601 time}');
      return { status: 200, body: await ops.pruneAudit({ before: safeText(before, 'before') }) };
    }
    case 'POST /migrate':
      return { status: 200, body: await ops.migrate() };
    default:
      if (request.method === 'DELETE' && url.pathname.startsWith('/clients/')) {
        return { status: 200, body: await ops.deleteClient(clientId(url.pathname.slice('/clients/'.length))) };
      }
      throw new AdminError('not_found', `no admin operation ${key}`);
  }
}

/**
 * Serves the admin protocol (see `protocol.ts`) on a Unix socket readable only by its owner. A socket
 * file left by a killed server is replaced; one that still answers belongs to another live server on
 * this data directory, and this one then throws `EADDRINUSE`.
 */
export async function listenAdminSocket(options: AdminSocketOptions): Promise<AdminSocket> {
  const directory = path.dirname(options.path);
  await fs.mkdir(directory, { recursive: true, mode: 0o700 });
  const stat = await fs.stat(directory);
  if ((stat.mode & 0o077) !== 0) await fs.chmod(directory, 0o700);
  if (await answers(options.path)) {
    throw Object.assign(new Error(`another server answers on ${options.path}`), { code: 'EADDRINUSE' });
  }
  await fs.rm(options.path, { force: true });

  const server = http.createServer((request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers[DATABASE_HEADER] !== options.databaseId) {
      request.resume();
      reply(ADMIN_ERROR_STATUS.database_mismatch, { code: 'database_mismatch', message: 'this server uses another database' });
      return;
    }
    route(options, request).then(
      ({ status, body }) => reply(status, body),
      (error: unknown) => {
        if (error instanceof AdminError) {
          reply(ADMIN_ERROR_STATUS[error.code], { code: error.code, message: error.message });
          return;
        }
        options.logger.error({ err: error }, 'admin operation failed');
        reply(500, { code: 'unexpected_failure', message: 'the operation failed; see the server log' });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fs.chmod(options.path, 0o600);
  const { ino } = await fs.stat(options.path);
  server.unref();

  let closing: Promise<void> | undefined;
  return {
    path: options.path,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        const current = await fs.stat(options.path).catch(() => null);
        if (current?.ino === ino) await fs.rm(options.path, { force: true });
      })();
      return closing;
    },
  };
}
