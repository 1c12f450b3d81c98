import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/index.js';

/** `GET /health`: 200 with the database status, 503 when the database does not answer. */
export function registerHealthRoute(app: FastifyInstance, db: Database): void {
  app.get('/health', async (_request, reply) => {
    const started = performance.now();
    try {
      await db.ping(2000);
      return { status: 'ok', database: { status: 'up', kind: db.kind, latency_ms: Math.round((performance.now() - started) * 10) / 10 } };
    } catch {
      return reply.code(503).send({ status: 'unavailable', database: { status: 'down', kind: db.kind } });
    }
  });
}
