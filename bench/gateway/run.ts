/**
 * Gateway benchmark: authenticated sockets held by one node process (memory per socket), connects per
 * second including JWT verification, and fan-out deliveries per second to many subscribers, each
 * against a raw `ws` server measured in the same run. Prints medians and ratios.
 *
 *   npm run bench:gateway
 *   BENCH_SOCKETS=19000 BENCH_SUBSCRIBERS=10000 BENCH_MESSAGES=100 BENCH_RUNS=3 npm run bench:gateway
 *   BENCH_PROFILE_DIR=/tmp/profiles npm run bench:gateway    # server CPU profiles per phase (connect, burst, paced)
 *
 * Load stays on 127.0.0.0/8: clients bind 127.0.0.2, 127.0.0.3, … so no source runs out of ports,
 * and each process stays under the 20,000 open-files limit.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { historyBenchmark } from './history.js';

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 19_000);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100);
const PACED_MESSAGES = Number(process.env.BENCH_PACED_MESSAGES ?? 20);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CLIENT_PROCESSES = Number(process.env.BENCH_CLIENT_PROCESSES ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const CHANNEL = 'org:bench';
const PAYLOAD = { type: 'note.created', id: '6f1c2a9e-7d3b-4c55-9a0e-2b8f1d4e7c10', title: 'benchmark message', at: 1_700_000_000_000 };

/** `protobuf`: the gateway again, its clients speaking the protobuf protocol. */
type Mode = 'gateway' | 'protobuf' | 'raw';
interface Message {
  type: string;
  [key: string]: unknown;
}

function child(script: string, args: string[], execArgv: string[] = []): ChildProcess {
  return fork(fileURLToPath(new URL(script, import.meta.url)), args, {
    execArgv: [...execArgv, '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, LOG_LEVEL: 'silent' },
  });
}

function next(proc: ChildProcess, type: string, timeoutMs = 300_000): Promise<Message> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${type}`)), timeoutMs);
    const listener = (message: Message) => {
      if (message.type === 'failed') {
        clearTimeout(timer);
        proc.off('message', listener);
        reject(new Error(String(message.error)));
      } else if (message.type === type) {
        clearTimeout(timer);
        proc.off('message', listener);
        resolve(message);
      }
    };
    proc.on('message', listener);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds the server process has used so far. */
async function serverCpu(server: ChildProcess): Promise<number> {
  const reply = next(server, 'cpu');
  server.send({ type: 'cpu' });
  return Number((await reply).seconds);
}

interface RunResult {
  connectsPerSecond: number;
  /** Per CPU second of the server process: steadier than wall clock on a shared machine. */
  connectsPerCpuSecond: number;
  deliveriesPerCpuSecond: number;
  pacedDeliveriesPerCpuSecond: number;
  bytesPerSocket: number;
  heapPerSocket: number;
  deliveriesPerSecond: number;
  pacedDeliveriesPerSecond: number;
  /** Absolute server RSS with every socket open. */
  rssAfter: number;
}

/** Starts the server's CPU profile of `phase` (ending the previous one); nothing without `BENCH_PROFILE_DIR`. */
async function profilePhase(server: ChildProcess, phase: string | null): Promise<void> {
  if (!process.env.BENCH_PROFILE_DIR) return;
  const reply = next(server, 'profiled');
  server.send({ type: 'profile', phase });
  await reply;
}

async function totalReceived(clients: ChildProcess[]): Promise<number> {
  const counts = await Promise.all(
    clients.map((proc) => {
      const reply = next(proc, 'count');
      proc.send({ type: 'count' });
      return reply;
    }),
  );
  return counts.reduce((sum, message) => sum + Number(message.received), 0);
}

async function waitForDeliveries(clients: ChildProcess[], expected: number, timeoutMs = 120_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const total = await totalReceived(clients);
    if (total >= expected) return performance.now();
    if (performance.now() - started > timeoutMs) throw new Error(`only ${total} of ${expected} deliveries arrived`);
    await sleep(5);
  }
}

async function run(mode: Mode): Promise<RunResult> {
  const server = child('./server.ts', [mode === 'raw' ? 'raw' : 'gateway'], ['--expose-gc', '--max-old-space-size=4096']);
  const ready = await next(server, 'ready', 60_000);

  const clients: ChildProcess[] = [];
  const perProcess = Math.ceil(SOCKETS / CLIENT_PROCESSES);
  const subscribersPerProcess = Math.ceil(SUBSCRIBERS / CLIENT_PROCESSES);
  for (let i = 0; i < CLIENT_PROCESSES; i += 1) {
    const proc = child('./clients.ts', []);
    await next(proc, 'up');
    clients.push(proc);
  }
  const minted = clients.map((proc) => next(proc, 'minted', 600_000));
  const counts = clients.map((_, i) => Math.max(0, Math.min(perProcess, SOCKETS - i * perProcess)));
  clients.forEach((proc, i) => {
    proc.send({
      type: 'start',
      mode: mode === 'raw' ? 'raw' : 'gateway',
      format: mode === 'protobuf' ? 'protobuf' : 'json',
      url: ready.url,
      count: counts[i],
      subscribers: Math.min(subscribersPerProcess, counts[i]!),
      localAddress: `127.0.0.${i + 2}`,
      concurrency: CONCURRENCY,
      privateJwk: ready.privateJwk,
      channel: CHANNEL,
      userPrefix: `bench-${i}`,
    });
  });
  await Promise.all(minted);
  // Two phases: half the client processes, then the rest. Memory per socket is the slope between the
  // two measurements, so the process's own start-up memory does not blur it.
  const half = Math.max(1, Math.floor(CLIENT_PROCESSES / 2));
  let connectMs = 0;
  let connectCpu = 0;
  const phase = async (group: ChildProcess[]) => {
    const connected = group.map((proc) => next(proc, 'connected', 600_000));
    const cpuBefore = await serverCpu(server);
    const started = performance.now();
    for (const proc of group) proc.send({ type: 'go' });
    await Promise.all(connected);
    connectMs += performance.now() - started;
    connectCpu += (await serverCpu(server)) - cpuBefore;
    await sleep(500);
    server.send({ type: 'measure' });
    return next(server, 'memory');
  };
  await profilePhase(server, 'connect');
  const middle = await phase(clients.slice(0, half));
  const after = await phase(clients.slice(half));
  const connectsPerSecond = SOCKETS / (connectMs / 1000);
  const connectsPerCpuSecond = SOCKETS / connectCpu;
  if (Number(after.connections) !== SOCKETS) throw new Error(`server holds ${String(after.connections)} sockets, expected ${SOCKETS}`);
  const secondPhase = Number(after.connections) - Number(middle.connections);
  const bytesPerSocket = (Number(after.rss) - Number(middle.rss)) / secondPhase;
  const heapPerSocket = (Number(after.heapUsed) + Number(after.external) - Number(middle.heapUsed) - Number(middle.external)) / secondPhase;

  const subscribers = Math.min(SUBSCRIBERS, SOCKETS);
  // Warm-up, then the measured burst.
  server.send({ type: 'publish', count: 5, payload: PAYLOAD });
  await next(server, 'published');
  await waitForDeliveries(clients, 5 * subscribers);
  await profilePhase(server, 'burst');
  const published = next(server, 'published');
  const burstCpu = await serverCpu(server);
  const fanoutStarted = performance.now();
  server.send({ type: 'publish', count: MESSAGES, payload: PAYLOAD });
  await published;
  const done = await waitForDeliveries(clients, (5 + MESSAGES) * subscribers);
  const deliveriesPerSecond = (MESSAGES * subscribers) / ((done - fanoutStarted) / 1000);
  const deliveriesPerCpuSecond = (MESSAGES * subscribers) / ((await serverCpu(server)) - burstCpu);

  // Paced: one publication per event-loop turn, so nothing can be joined; every message is its own write.
  await profilePhase(server, 'paced');
  const pacedPublished = next(server, 'published');
  const pacedCpu = await serverCpu(server);
  const pacedStarted = performance.now();
  server.send({ type: 'publish', count: PACED_MESSAGES, payload: PAYLOAD, paced: true });
  await pacedPublished;
  const pacedDone = await waitForDeliveries(clients, (5 + MESSAGES + PACED_MESSAGES) * subscribers);
  const pacedDeliveriesPerSecond = (PACED_MESSAGES * subscribers) / ((pacedDone - pacedStarted) / 1000);
  const pacedDeliveriesPerCpuSecond = (PACED_MESSAGES * subscribers) / ((await serverCpu(server)) - pacedCpu);

  await profilePhase(server, null);
  for (const proc of clients) proc.send({ type: 'stop' });
  server.send({ type: 'stop' });
  await Promise.all([...clients, server].map((proc) => new Promise((resolve) => (proc.exitCode !== null ? resolve(null) : proc.once('exit', resolve)))));
  return { connectsPerSecond, connectsPerCpuSecond, bytesPerSocket, heapPerSocket, deliveriesPerSecond, deliveriesPerCpuSecond, pacedDeliveriesPerSecond, pacedDeliveriesPerCpuSecond, rssAfter: Number(after.rss) };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const results: Record<Mode, RunResult[]> = { gateway: [], protobuf: [], raw: [] };
console.log(`gateway benchmark: ${SOCKETS} sockets over ${CLIENT_PROCESSES} client processes, ${SUBSCRIBERS} subscribers, bursts of ${MESSAGES} and ${PACED_MESSAGES} paced messages, ${RUNS} runs`);
for (let i = 0; i < RUNS; i += 1) {
  for (const mode of ['gateway', 'protobuf', 'raw'] as const) {
    const result = await run(mode);
    results[mode].push(result);
    console.log(
      `run ${i + 1} ${mode.padEnd(8)} connects/s ${result.connectsPerSecond.toFixed(0).padStart(6)} (${result.connectsPerCpuSecond.toFixed(0)}/CPU s)  RSS/socket ${(result.bytesPerSocket / 1024).toFixed(1).padStart(5)} KB  heap+external/socket ${(result.heapPerSocket / 1024).toFixed(1).padStart(5)} KB  burst deliveries/s ${result.deliveriesPerSecond.toFixed(0).padStart(8)} (${result.deliveriesPerCpuSecond.toFixed(0)}/CPU s)  paced deliveries/s ${result.pacedDeliveriesPerSecond.toFixed(0).padStart(7)} (${result.pacedDeliveriesPerCpuSecond.toFixed(0)}/CPU s)  (server RSS ${(result.rssAfter / 1048576).toFixed(0)} MB)`,
    );
  }
}
const summary = (mode: Mode, key: keyof RunResult) => median(results[mode].map((result) => result[key]));
const row = (label: string, key: keyof RunResult, unit: (value: number) => string, higherIsBetter: boolean) => {
  const ours = summary('gateway', key);
  const peer = summary('raw', key);
  const ratio = higherIsBetter ? ours / peer : peer / ours;
  console.log(`${label.padEnd(34)} ${unit(ours).padStart(12)} ${unit(peer).padStart(12)} ${ratio.toFixed(2).padStart(7)}×`);
};
console.log(`\nmedian of ${RUNS} runs                      latchkey      raw ws    ratio`);
row('connects per second (JWT verified)', 'connectsPerSecond', (v) => v.toFixed(0), true);
row('connects per server CPU second', 'connectsPerCpuSecond', (v) => v.toFixed(0), true);
row('RSS per socket', 'bytesPerSocket', (v) => `${(v / 1024).toFixed(1)} KB`, false);
row('heap + external per socket', 'heapPerSocket', (v) => `${(v / 1024).toFixed(1)} KB`, false);
row(`fan-out burst deliveries/s`, 'deliveriesPerSecond', (v) => v.toFixed(0), true);
row(`fan-out paced deliveries/s`, 'pacedDeliveriesPerSecond', (v) => v.toFixed(0), true);
row(`burst deliveries per server CPU s`, 'deliveriesPerCpuSecond', (v) => v.toFixed(0), true);
row(`paced deliveries per server CPU s`, 'pacedDeliveriesPerCpuSecond', (v) => v.toFixed(0), true);
console.log('(ratio: latchkey relative to raw ws, above 1 is better for latchkey; memory ratio = raw/latchkey; memory per socket = slope between the measurements at half and at all sockets)');
const formatRow = (label: string, key: keyof RunResult) => {
  const json = summary('gateway', key);
  const proto = summary('protobuf', key);
  console.log(`${label.padEnd(34)} ${json.toFixed(0).padStart(12)} ${proto.toFixed(0).padStart(12)} ${(proto / json).toFixed(2).padStart(7)}×`);
};
console.log(`\nmedian of ${RUNS} runs, same server         JSON    protobuf   protobuf/JSON`);
formatRow('connects per server CPU second', 'connectsPerCpuSecond');
formatRow('burst deliveries per server CPU s', 'deliveriesPerCpuSecond');
formatRow('paced deliveries per server CPU s', 'pacedDeliveriesPerCpuSecond');
formatRow('burst deliveries/s', 'deliveriesPerSecond');
formatRow('paced deliveries/s', 'pacedDeliveriesPerSecond');
await historyBenchmark();
