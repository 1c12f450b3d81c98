import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Centrifuge as ProtobufCentrifuge } from 'centrifuge/build/protobuf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createTestDatabase, type TestDatabase } from '../../../../test-support/databases.js';
import { officialClient, once, startGateway, startKeyServer, type GatewayServer, type KeyServer } from './support.js';

describe('gateway RPC proxy (Centrifugo format)', () => {
  let database: TestDatabase;
  let keys: KeyServer;
  let gateway: GatewayServer;
  let proxy: Server;
  const requests: Record<string, unknown>[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    keys = await startKeyServer();
    proxy = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const parsed = JSON.parse(body) as { method: string; data?: unknown };
        requests.push(parsed);
        const answer =
          parsed.method === 'getCurrentPrice'
            ? { result: { data: { answer: '2019', asked: parsed.data } } }
            : parsed.method === 'refuse'
              ? { error: { code: 1403, message: 'no way' } }
              : parsed.method === 'kick'
                ? { disconnect: { code: 4501, reason: 'kicked' } }
                : { error: { code: 104, message: 'method not found' } };
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    gateway = await startGateway(database.db, {
      LATCHKEY_GATEWAY_TOKEN_JWKS_URL: keys.url,
      LATCHKEY_GATEWAY_RPC_PROXY_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/rpc`,
    });
    gateway.gateway.registerRpc('local', () => ({ local: true }));
  });
  afterAll(async () => {
    await gateway?.close();
    await new Promise((resolve) => proxy.close(resolve));
    await keys?.close();
    await database?.dispose();
  });

  it('forwards unknown methods to the proxy, maps its errors and disconnects, and keeps in-process handlers first', async () => {
    const centrifuge = officialClient(gateway.wsUrl, { token: await keys.mint({ sub: '56', meta: { plan: 'pro' } }) });
    try {
      centrifuge.connect();
      const { client } = await once<{ client: string }>(centrifuge, 'connected', 15_000);
      expect((await centrifuge.rpc('getCurrentPrice', { params: { object_id: 12 } })).data).toEqual({ answer: '2019', asked: { params: { object_id: 12 } } });
      expect(requests[0]).toEqual({
        client,
        transport: 'websocket',
        protocol: 'json',
        encoding: 'json',
        user: '56',
        method: 'getCurrentPrice',
        data: { params: { object_id: 12 } },
        meta: { plan: 'pro' },
      });
      expect((await centrifuge.rpc('local', {})).data).toEqual({ local: true });
      expect(requests).toHaveLength(1);
      await expect(centrifuge.rpc('refuse', {})).rejects.toMatchObject({ code: 1403, message: 'no way' });
      const disconnected = once<{ code: number; reason: string }>(centrifuge, 'disconnected');
      void centrifuge.rpc('kick', {}).catch(() => undefined);
      expect(await disconnected).toMatchObject({ code: 4501, reason: 'kicked' });
    } finally {
      centrifuge.disconnect();
    }
  });

  it('forwards a protobuf client\'s call with protocol "protobuf" and its data as JSON, and returns the answer as JSON bytes', async () => {
    const centrifuge = new ProtobufCentrifuge(gateway.wsUrl, { websocket: WebSocket, token: await keys.mint({ sub: '57' }) });
    try {
      centrifuge.connect();
      const { client } = await once<{ client: string }>(centrifuge, 'connected', 15_000);
      requests.length = 0;
      const reply = await centrifuge.rpc('getCurrentPrice', new TextEncoder().encode(JSON.stringify({ params: { object_id: 13 } })));
      expect(JSON.parse(new TextDecoder().decode(reply.data as Uint8Array))).toEqual({ answer: '2019', asked: { params: { object_id: 13 } } });
      expect(requests[0]).toEqual({ client, transport: 'websocket', protocol: 'protobuf', encoding: 'json', user: '57', method: 'getCurrentPrice', data: { params: { object_id: 13 } } });
      await expect(centrifuge.rpc('refuse', new Uint8Array())).rejects.toMatchObject({ code: 1403, message: 'no way' });
    } finally {
      centrifuge.disconnect();
    }
  });
});
