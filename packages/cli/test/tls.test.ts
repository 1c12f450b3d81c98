import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createClient } from '@supabase/supabase-js';
import { Centrifuge } from 'centrifuge';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { describeWith } from '../../../test-support/integration.js';
import { createPostgresDatabase } from '../../../test-support/databases.js';
import { LATCHKEY_BIN, spawnNode } from '../../../test-support/processes.js';

const scratch: string[] = [];
afterAll(async () => {
  await Promise.all(scratch.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

/** A self-signed P-256 certificate for 127.0.0.1 and localhost, made with the openssl command. */
function makeCertificate(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', key, '-out', cert, '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  return { cert, key };
}

/** The fingerprint of the certificate the server presents to a new TLS connection. */
function servedFingerprint(port: number, ca: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

async function run(databaseUrl: string): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-tls-'));
  scratch.push(dir);
  const first = makeCertificate(dir, 'first');
  const second = makeCertificate(dir, 'second');
  const ca = [await fs.readFile(first.cert, 'utf8'), await fs.readFile(second.cert, 'utf8')];
  const fingerprints = ca.map((pem) => new X509Certificate(pem).fingerprint256);
  // The files the server reads; replaced by the second pair before SIGHUP.
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  await fs.copyFile(first.cert, certFile);
  await fs.copyFile(first.key, keyFile);

  const proc = spawnNode(LATCHKEY_BIN, ['serve', '--tls-cert', certFile, '--tls-key', keyFile], { PORT: '0', DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' });
  const agent = new Agent({ connect: { ca } });
  const centrifuge: Centrifuge[] = [];
  try {
    const url = (await proc.waitFor(/health\s+(https:\/\/[^\s]+)\/health/, 60_000))[1]!;
    const output = proc.output();
    const anonKey = /apikey: ([^\s']+)/.exec(output)![1]!;
    const apiKey = /gateway API key[^:]*: (\S+)/.exec(output)![1]!;
    expect(output).not.toContain('without TLS');
    const port = Number(new URL(url).port);
    expect(await servedFingerprint(port, ca)).toBe(fingerprints[0]);

    // supabase-js over HTTPS, trusting the test's certificates.
    const supabase = createClient(url, anonKey, {
      auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
      realtime: { transport: WebSocket as never },
      global: { fetch: ((input: string, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch },
    });
    const email = `tls-${Date.now().toString(36)}@example.com`;
    expect((await supabase.auth.signUp({ email, password: 'correct-horse-battery-1' })).error).toBeNull();
    const signedIn = await supabase.auth.signInWithPassword({ email, password: 'correct-horse-battery-1' });
    expect(signedIn.error).toBeNull();
    const session = signedIn.data.session!;

    // The official client over WSS on the same port.
    class TrustingWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { ca });
      }
    }
    const client = new Centrifuge(`${url.replace(/^https/, 'wss')}/connection/websocket`, { websocket: TrustingWebSocket, token: session.access_token });
    centrifuge.push(client);
    const disconnects: unknown[] = [];
    client.on('disconnected', (context) => disconnects.push(context));
    const connected = new Promise((resolve) => client.once('connected', resolve));
    client.connect();
    await connected;
    const own = client.newSubscription(`user:#${session.user.id}`);
    const subscribed = new Promise((resolve) => own.once('subscribed', resolve));
    own.subscribe();
    await subscribed;

    // Renewed files and SIGHUP: new handshakes get the second certificate, the open connection stays.
    await fs.copyFile(second.cert, certFile);
    await fs.copyFile(second.key, keyFile);
    proc.child.kill('SIGHUP');
    await proc.waitFor(/TLS certificate reloaded/);
    expect(await servedFingerprint(port, ca)).toBe(fingerprints[1]);
    const publication = new Promise<{ data: unknown }>((resolve) => own.once('publication', resolve));
    const published = await undiciFetch(`${url}/api/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ channel: `user:#${session.user.id}`, data: { after: 'reload' } }),
      dispatcher: agent,
    });
    expect(published.status).toBe(200);
    expect((await publication).data).toEqual({ after: 'reload' });
    expect(client.state).toBe('connected');
    expect(disconnects).toEqual([]);
    // And HTTPS requests go on with the new certificate.
    expect((await supabase.auth.refreshSession({ refresh_token: session.refresh_token })).error).toBeNull();

    // A broken renewal is refused and the previous certificate stays.
    await fs.writeFile(keyFile, 'not a key');
    proc.child.kill('SIGHUP');
    await proc.waitFor(/TLS certificate not reloaded/);
    expect(await servedFingerprint(port, ca)).toBe(fingerprints[1]);
    expect(proc.output()).not.toContain(session.access_token);
  } finally {
    for (const client of centrifuge) client.disconnect();
    await agent.close();
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  }
}

describeWith([], 'HTTPS and WSS on the embedded database', () => {
  it('serves supabase-js and the official client, and reloads the certificate on SIGHUP without dropping connections', () => run('memory://'), 120_000);
});

describeWith(['DATABASE_URL'], 'HTTPS and WSS on PostgreSQL', () => {
  it('serves supabase-js and the official client, and reloads the certificate on SIGHUP without dropping connections', async () => {
    const database = await createPostgresDatabase();
    try {
      await run(database.url);
    } finally {
      await database.drop();
    }
  }, 120_000);
});
