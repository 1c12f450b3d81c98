import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_HEADER, listenAdminSocket, type AdminOperations, type AdminSocket } from '../../src/admin/index.js';
import { createLogger } from '../../src/logging/logger.js';

const DATABASE = 'pglite:/nowhere';

function request(socketPath: string, method: string, target: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: target, headers: { [DATABASE_HEADER]: DATABASE, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('admin socket input', () => {
  let dir: string;
  let socket: AdminSocket;
  const created: unknown[] = [];
  const deleted: string[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-admin-input-'));
    const unused = () => Promise.reject(new Error('not used here'));
    const operations: AdminOperations = {
      keys: unused,
      rotateKeys: unused,
      listClients: unused,
      mail: unused,
      audit: unused,
      pruneAudit: unused,
      sms: unused,
      migrate: unused,
      createUser: unused,
      async createClient(input) {
        created.push(input);
        return { client_id: 'lkc_x' } as never;
      },
      async deleteClient(id) {
        deleted.push(id);
        return { client_id: id } as never;
      },
    };
    socket = await listenAdminSocket({
      path: path.join(dir, 'admin.sock'),
      databaseId: DATABASE,
      operations,
      status: unused as never,
      logger: createLogger('silent'),
    });
  });

  afterAll(async () => {
    await socket.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['null', 'null'],
    ['a number', '7'],
    ['an array', '[]'],
    ['not JSON', '{"client_name":'],
    ['an empty name', '{"client_name":"  ","scopes":[]}'],
    ['a name over 200 characters', JSON.stringify({ client_name: 'x'.repeat(201), scopes: [] })],
    ['a scope with a space', '{"client_name":"a","scopes":["read write"]}'],
    ['a scope that is not a string', '{"client_name":"a","scopes":[1]}'],
    ['an organization that is not a UUID', '{"client_name":"a","scopes":[],"organization_id":"acme"}'],
    ['a NUL in the name', '{"client_name":"a\\u0000b","scopes":[]}'],
    ['a lone surrogate in the name', '{"client_name":"a\\ud800","scopes":[]}'],
  ])('answers 400 bad_request to POST /clients with %s', async (_label, body) => {
    const answer = await request(socket.path, 'POST', '/clients', body);
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe('bad_request');
    expect(created).toEqual([]);
  });

  it('passes a valid client on, its name trimmed and its organization in lower case', async () => {
    const organization = '0B5E3C1A-2F4D-4E6A-9B8C-7D6E5F4A3B2C';
    const answer = await request(socket.path, 'POST', '/clients', JSON.stringify({ client_name: ' reports ', scopes: ['read'], organization_id: organization }));
    expect(answer.status).toBe(201);
    expect(created).toEqual([{ client_name: 'reports', scopes: ['read'], organization_id: organization.toLowerCase() }]);
  });

  it('answers 400 bad_request to DELETE /clients/ with a broken escape', async () => {
    const answer = await request(socket.path, 'DELETE', '/clients/%E0%A4%A');
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe('bad_request');
    expect(deleted).toEqual([]);
  });

  it.each([
    ['DELETE', '/clients/lkc_%00'],
    ['GET', '/mail?to=a%00b'],
  ])('answers 400 bad_request to %s %s (a NUL)', async (method, target) => {
    const answer = await request(socket.path, method, target);
    expect(answer.status).toBe(400);
    expect(answer.json.code).toBe('bad_request');
    expect(deleted).toEqual([]);
  });

  it('answers 400 bad_request to a request target that is not a URL path', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const connection = net.connect(socket.path, () => {
        connection.end(`GET //[ HTTP/1.1\r\nhost: admin\r\n${DATABASE_HEADER}: ${DATABASE}\r\nconnection: close\r\n\r\n`);
      });
      let text = '';
      connection.setEncoding('utf8');
      connection.on('data', (chunk: string) => (text += chunk));
      connection.on('end', () => resolve(text));
      connection.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('"code":"bad_request"');
  });
});
