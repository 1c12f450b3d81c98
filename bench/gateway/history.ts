/**
 * History cost: publications per second through the gateway's publish path (encode + broker + hub) on a channel whose
 * namespace keeps history (appended to the stream, offset in every frame) against one that does not,
 * in the same run, one local subscriber each; and recoveries per second (resubscribe with `recover`
 * after missing 50 publications). Memory engine, and the Redis engine when REDIS_URL is set.
 *
 *   node --import tsx bench/gateway/history.ts   (also printed at the end of npm run bench:gateway)
 */
import { randomUUID } from 'node:crypto';
import { MemoryBroker } from '../../packages/server/src/gateway/broker/memory.js';
import type { Broker } from '../../packages/server/src/gateway/broker/types.js';
import { namespaceDefaults, type ChannelSettings } from '../../packages/server/src/gateway/channels/options.js';
import { positionSubscription } from '../../packages/server/src/gateway/history/position.js';
import { Hub, type Subscriber } from '../../packages/server/src/gateway/hub.js';
import { encodePublication } from '../../packages/server/src/gateway/node.js';
import { JSON_CODEC } from '../../packages/server/src/gateway/protocol/codec.js';

const PUBLICATIONS = Number(process.env.BENCH_HISTORY_PUBLICATIONS ?? 20_000);
const RECOVERIES = Number(process.env.BENCH_RECOVERIES ?? 2_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const withHistory = { ...namespaceDefaults('hist'), history_size: 100, history_ttl: 300, force_recovery: true };
const channels: ChannelSettings = {
  privatePrefix: '$',
  namespaceBoundary: ':',
  userBoundary: '#',
  userSeparator: ',',
  maxLength: 255,
  historyMetaTtl: 3600,
  withoutNamespace: namespaceDefaults(''),
  namespaces: new Map([['hist', withHistory]]),
};
const DATA = JSON.stringify({ type: 'note.created', id: '6f1c2a9e-7d3b-4c55-9a0e-2b8f1d4e7c10', title: 'benchmark message', at: 1_700_000_000_000 });
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function publishRate(broker: Broker, hub: Hub, history: boolean): Promise<number> {
  let received = 0;
  const subscriber: Subscriber = { codec: JSON_CODEC, write: () => (received += 1), lostPosition: () => undefined };
  const channel = `hist:${randomUUID()}`;
  await hub.reserve(channel, subscriber);
  hub.activate(channel, subscriber, { joinLeave: false, position: null, delta: null });
  const started = performance.now();
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < PUBLICATIONS; i += 1) {
    batch.push(history ? broker.publishToStream(channel, DATA, undefined, { size: 100, ttl: 300, metaTtl: 3600, delivery: 'plain' }) : broker.publish(channel, encodePublication(channel, DATA), false));
    if (batch.length === 500) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  const elapsed = performance.now() - started;
  // Deliveries are joined per event-loop turn: the last batch goes out on the next turn.
  await new Promise((resolve) => setImmediate(resolve));
  if (received < 1) throw new Error('nothing delivered');
  return PUBLICATIONS / (elapsed / 1000);
}

async function recoveryRate(broker: Broker): Promise<number> {
  const channel = `hist:${randomUUID()}`;
  const first = await broker.publishToStream(channel, DATA, undefined, { size: 100, ttl: 300, metaTtl: 3600, delivery: 'plain' });
  for (let i = 0; i < 50; i += 1) await broker.publishToStream(channel, DATA, undefined, { size: 100, ttl: 300, metaTtl: 3600, delivery: 'plain' });
  const request = { channel, recover: true, offset: first.offset, epoch: first.epoch };
  const started = performance.now();
  for (let i = 0; i < RECOVERIES; i += 1) {
    const { result } = await positionSubscription(broker, channels, channel, withHistory, request, true);
    if (result.recovered !== true || result.publications?.length !== 50) throw new Error('recovery failed');
  }
  return RECOVERIES / ((performance.now() - started) / 1000);
}

/** Runs the history benchmark on each engine and prints medians with the on/off ratio. */
export async function historyBenchmark(): Promise<void> {
  const engines: [string, () => Promise<Broker>][] = [['memory', async () => new MemoryBroker()]];
  if (process.env.REDIS_URL) {
    const { RedisBroker } = await import('../../packages/server/src/gateway/broker/redis.js');
    engines.push(['redis', async () => new RedisBroker({ url: process.env.REDIS_URL!, prefix: `bench-history-${randomUUID()}` })]);
  }
  console.log(`\nhistory: ${PUBLICATIONS} publications per run (batches of 500), ${RECOVERIES} recoveries of 50 publications, ${RUNS} runs`);
  console.log(`engine     history off pubs/s   history on pubs/s   on/off   recoveries/s`);
  for (const [name, make] of engines) {
    const off: number[] = [];
    const on: number[] = [];
    const recoveries: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const broker = await make();
      const hub = new Hub(broker);
      await broker.start({ deliver: (channel, frame, joinLeave, offset, parts) => hub.deliver(channel, frame, joinLeave, offset, parts), control: () => undefined });
      off.push(await publishRate(broker, hub, false));
      on.push(await publishRate(broker, hub, true));
      recoveries.push(await recoveryRate(broker));
      await broker.close();
    }
    const ratio = median(on) / median(off);
    console.log(`${name.padEnd(10)} ${median(off).toFixed(0).padStart(18)} ${median(on).toFixed(0).padStart(19)} ${ratio.toFixed(2).padStart(7)}× ${median(recoveries).toFixed(0).padStart(14)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await historyBenchmark();
