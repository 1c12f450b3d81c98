import type { FastifyInstance } from 'fastify';
import type { BrokerStatus } from '../cluster/index.js';
import type { Database } from '../db/index.js';

/** What `/health` says about the broker. */
export interface BrokerHealth {
  readonly kind: 'memory' | 'redis';
  status(): BrokerStatus;
}

/**
 * `GET /health`: each dependency with its status. 200 while the database answers (`status: "ok"`, or
 * `"degraded"` while Redis is away: sockets stay open and requests are served, only cross-node messages
 * wait); 503 when the database does not answer, so a load balancer sends requests to other nodes.
 */
export function registerHealthRoute(app: FastifyInstance, db: Database, broker?: BrokerHealth): void {
  app.get('/health', async (_request, reply) => {
    const started = performance.now();
    const brokerReport = broker ? { broker: { status: broker.status(), kind: broker.kind === 'memory' ? 'in-process' : broker.kind } } : {};
    const brokerUp = !broker || broker.status() === 'up';
    try {
      await db.ping(2000);
      const database = { status: 'up', kind: db.kind, latency_ms: Math.round((performance.now() - started) * 10) / 10 };
      return { status: brokerUp ? 'ok' : 'degraded', database, ...brokerReport };
    } catch {
      return reply.code(503).header('retry-after', '1').send({ status: 'unavailable', database: { status: 'down', kind: db.kind }, ...brokerReport });
    }
  });
}
