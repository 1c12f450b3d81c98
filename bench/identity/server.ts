/**
 * The identity service as the benchmark runs it: a separate process, the same `startServer` as
 * `latchkey serve`, plus bench-only routes: an empty transaction over HTTP (the stack's floor) and one
 * reporting the event loop's longest stall since the
 * last read (`perf_hooks.monitorEventLoopDelay`, 1 ms resolution).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadServerConfig, startServer } from '@latchkey/server';

const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();

const server = await startServer({
  env: process.env,
  config: loadServerConfig({ ...process.env, PORT: '0', LOG_LEVEL: 'warn' }),
  services: { identity: true },
  extend(app, context) {
    // The same HTTP stack and four database round trips (BEGIN, two statements, COMMIT) doing no work:
    // what any refresh costs on this machine before the refresh itself.
    app.post('/__bench/floor', async () => {
      await context.db.transaction(async (tx) => {
        await tx.query('select $1::int as a', [1]);
        await tx.query('select $1::int as b', [2]);
      });
      return { ok: true };
    });
    app.get('/__bench/cpu', async () => {
      const usage = process.cpuUsage();
      return { cpu_us: usage.user + usage.system };
    });
    app.get('/__bench/event-loop', async () => {
      const answer = { max_ms: histogram.max / 1e6, p99_ms: histogram.percentile(99) / 1e6, mean_ms: histogram.mean / 1e6 };
      histogram.reset();
      return answer;
    });
  },
});
process.stdout.write(`listening ${server.url}\n`);
const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
