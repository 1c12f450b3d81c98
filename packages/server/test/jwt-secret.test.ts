import { Centrifuge } from 'centrifuge';
import { SignJWT, decodeJwt } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notesApi } from '@latchkey/example-notes-api';
import { describeEachDatabase } from '../../../test-support/databases.js';
import { ConfigError, loadServerConfig, startServer, type IdentityExports, type RunningServer } from '../src/index.js';
import { TEST_ENV, email, supabaseClient } from './identity/support.js';

const CONFIG = { PORT: '0', DATABASE_URL: 'memory://', LOG_LEVEL: 'silent' };

async function startFailure(run: Promise<RunningServer>): Promise<ConfigError> {
  try {
    const server = await run;
    await server.close();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected the start to be refused');
}

describeEachDatabase('LATCHKEY_JWT_SECRET: one rule for identity, gateway and API', (database) => {
  describe('a secret shorter than 32 bytes', () => {
    for (const [name, value] of [
      ['LATCHKEY_JWT_SECRET', 'sixteen-byte-key'],
      ['LATCHKEY_JWT_SECRET', 'a-31-byte-secret-just-too-short'],
      ['GOTRUE_JWT_SECRET', 'twenty-four-bytes-secret'],
    ] as const) {
      it(`stops the start with one line naming ${name} (${Buffer.byteLength(value)} bytes)`, async () => {
        const error = await startFailure(startServer({ env: { ...TEST_ENV, [name]: value }, config: loadServerConfig(CONFIG), database: database() }));
        expect(error.variable).toBe(name);
        expect(error.message).toBe(`${name}: must be at least 32 bytes long (HS256 needs a 256-bit key)`);
        expect(error.message).not.toContain('\n');
      });
    }

    it('stops a node without the identity service too (the gateway verifies with the same secret)', async () => {
      const error = await startFailure(
        startServer({ env: { ...TEST_ENV, LATCHKEY_JWT_SECRET: 'x'.repeat(20) }, config: loadServerConfig(CONFIG), database: database(), services: { gateway: true } }),
      );
      expect(error.variable).toBe('LATCHKEY_JWT_SECRET');
    });
  });

  describe('a secret of exactly 32 bytes', () => {
    // 16 characters, 32 bytes in UTF-8: the rule counts bytes, as HMAC does.
    const secret = 'é'.repeat(16);
    let server: RunningServer;
    let identity: IdentityExports;

    beforeAll(async () => {
      server = await startServer({ env: { ...TEST_ENV, LATCHKEY_JWT_SECRET: secret }, config: loadServerConfig(CONFIG), database: database(), extensions: [notesApi()] });
      identity = server.services.identity!;
    });
    afterAll(async () => {
      await server?.close();
    });

    it('is accepted by identity, the example API and the gateway alike', async () => {
      const supabase = supabaseClient(server.url, identity.apiKeys.anonKey);
      const signedUp = await supabase.auth.signUp({ email: email('secret'), password: 'correct horse battery staple' });
      expect(signedUp.error).toBeNull();
      const now = Math.floor(Date.now() / 1000);
      const legacy = await new SignJWT({ ...decodeJwt(signedUp.data.session!.access_token), iat: now, exp: now + 60 })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(new TextEncoder().encode(secret));
      const headers = { authorization: `Bearer ${legacy}`, apikey: identity.apiKeys.anonKey };

      const user = await fetch(`${server.url}/auth/v1/user`, { headers });
      expect(user.status).toBe(200);
      const notes = await fetch(`${server.url}/api/v1/notes`, { headers });
      expect(notes.status).toBe(200);

      const client = new Centrifuge(`${server.url.replace('http', 'ws')}/connection/websocket`, { websocket: WebSocket, token: legacy });
      try {
        const connected = new Promise<{ client: string }>((resolve) => client.once('connected', resolve as never));
        client.connect();
        expect((await connected).client).toBeTruthy();
      } finally {
        client.disconnect();
      }
    });
  });
});
