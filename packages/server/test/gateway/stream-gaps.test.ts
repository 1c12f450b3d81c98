import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../src/gateway/broker/memory.js';
import { MemoryHistory } from '../../src/gateway/history/memory.js';
import { Hub, type Subscriber } from '../../src/gateway/hub.js';
import { JSON_CODEC } from '../../src/gateway/protocol/codec.js';

function subscriber(): Subscriber & { frames: string[]; lost: string[] } {
  const frames: string[] = [];
  const lost: string[] = [];
  return { codec: JSON_CODEC, frames, lost, write: (frame) => frames.push(frame.toString()), lostPosition: (channel) => lost.push(channel) };
}

const frame = (offset: number) => Buffer.from(`{"push":{"channel":"c","pub":{"data":${offset},"offset":${offset}}}}`);
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('stream positions in the hub', () => {
  it('skips held publications the subscribe reply carried and writes the ones after it', async () => {
    const hub = new Hub(new MemoryBroker());
    const sub = subscriber();
    await hub.reserve('c', sub);
    for (const offset of [3, 4, 5]) hub.deliver('c', frame(offset), false, offset);
    expect(hub.activate('c', sub, { joinLeave: false, position: 4, delta: null })).toBe(true);
    expect(sub.frames).toEqual([frame(5).toString()]);
  });

  it('refuses to activate a positioned subscriber when held publications skip an offset', async () => {
    const hub = new Hub(new MemoryBroker());
    const sub = subscriber();
    await hub.reserve('c', sub);
    hub.deliver('c', frame(7), false, 7);
    expect(hub.activate('c', sub, { joinLeave: false, position: 5, delta: null })).toBe(false);
    expect(sub.frames).toEqual([]);
    expect(hub.channelCount).toBe(0);
  });

  it('tells positioned subscribers when live offsets jump, and leaves the others alone', async () => {
    const hub = new Hub(new MemoryBroker());
    const positioned = subscriber();
    const plain = subscriber();
    for (const sub of [positioned, plain]) await hub.reserve('c', sub);
    hub.activate('c', positioned, { joinLeave: false, position: 0, delta: null });
    hub.activate('c', plain, { joinLeave: false, position: null, delta: null });
    hub.deliver('c', frame(1), false, 1);
    hub.deliver('c', frame(2), false, 2);
    expect(positioned.lost).toEqual([]);
    hub.deliver('c', frame(4), false, 4);
    await tick();
    expect(positioned.lost).toEqual(['c']);
    expect(plain.lost).toEqual([]);
    expect(plain.frames.join('\n')).toContain('"offset":4');
  });
});

describe('stream positions after the broker reconnected', () => {
  const positionedHub = async (position: number, epoch: string) => {
    const hub = new Hub(new MemoryBroker());
    const positioned = subscriber();
    const plain = subscriber();
    for (const sub of [positioned, plain]) await hub.reserve('c', sub);
    hub.activate('c', positioned, { joinLeave: false, position, delta: null, epoch });
    hub.activate('c', plain, { joinLeave: false, position: null, delta: null });
    return { hub, positioned, plain };
  };

  it('leaves subscribers alone when the stream is where this node left it', async () => {
    const { hub, positioned } = await positionedHub(0, 'e1');
    hub.deliver('c', frame(1), false, 1);
    hub.deliver('c', frame(2), false, 2);
    await hub.resync(async () => ({ offset: 2, epoch: 'e1' }), 10);
    expect(positioned.lost).toEqual([]);
  });

  it('tells positioned subscribers when the stream moved on while this node was away from the broker', async () => {
    const { hub, positioned, plain } = await positionedHub(3, 'e1');
    await hub.resync(async () => ({ offset: 5, epoch: 'e1' }), 10);
    expect(positioned.lost).toEqual(['c']);
    expect(plain.lost).toEqual([]);
  });

  it('waits for publications still on their way before counting them missed', async () => {
    const { hub, positioned } = await positionedHub(3, 'e1');
    const checked = hub.resync(async () => ({ offset: 4, epoch: 'e1' }), 200);
    await new Promise((resolve) => setTimeout(resolve, 20));
    hub.deliver('c', frame(4), false, 4);
    await checked;
    expect(positioned.lost).toEqual([]);
  });

  it('tells positioned subscribers when the stream was lost (a new epoch), even at the same offset, and follows the new stream', async () => {
    const { hub, positioned } = await positionedHub(0, 'e1');
    hub.deliver('c', frame(1), false, 1);
    await hub.resync(async () => ({ offset: 1, epoch: 'e2' }), 10);
    expect(positioned.lost).toEqual(['c']);
    // A subscriber positioned on the new stream follows its offsets without a false gap.
    const again = subscriber();
    await hub.reserve('c', again);
    hub.activate('c', again, { joinLeave: false, position: 1, delta: null, epoch: 'e2' });
    hub.deliver('c', frame(2), false, 2);
    await hub.resync(async () => ({ offset: 2, epoch: 'e2' }), 10);
    expect(again.lost).toEqual([]);
  });

  it('tells positioned subscribers when a new stream restarted its offsets below what they had', async () => {
    const { hub, positioned } = await positionedHub(7, '');
    await hub.resync(async () => ({ offset: 2, epoch: 'e9' }), 10);
    expect(positioned.lost).toEqual(['c']);
  });
});

describe('memory streams', () => {
  it('keeps history_size publications for history_ttl, and forgets the epoch after history_meta_ttl', () => {
    let now = 1_000_000;
    const streams = new MemoryHistory(() => now);
    const options = { size: 2, ttl: 10, metaTtl: 60 };
    const first = streams.append('c', '1', undefined, options);
    streams.append('c', '2', '{"user":"u","client":"x"}', options);
    streams.append('c', '3', undefined, options);
    const all = streams.read('c', { limit: -1, reverse: false, metaTtl: 60 });
    expect(all.publications.map((p) => p.offset)).toEqual([2, 3]);
    expect(all).toMatchObject({ offset: 3, epoch: first.epoch });
    now += 11_000;
    expect(streams.read('c', { limit: -1, reverse: false, metaTtl: 60 })).toMatchObject({ publications: [], offset: 3, epoch: first.epoch });
    now += 61_000;
    streams.sweep();
    const fresh = streams.read('c', { limit: -1, reverse: false, metaTtl: 60 });
    expect(fresh.offset).toBe(0);
    expect(fresh.epoch).not.toBe(first.epoch);
    expect(() => streams.read('c', { limit: 1, reverse: false, metaTtl: 60, since: { offset: 3, epoch: first.epoch } })).toThrow(/cannot be recovered/);
  });
});

describe('fossil deltas', () => {
  it('makes a delta that rebuilds the data from the previous one, or none when it would not be smaller', async () => {
    const { applyDelta } = await import('fossil-delta');
    const { fossilPatch } = await import('../../src/gateway/delta/fossil.js');
    const prev = JSON.stringify({ text: 'Grüße aus Köln — '.repeat(30), n: 1 });
    const next = JSON.stringify({ text: 'Grüße aus Köln — '.repeat(30), n: 2 });
    const patch = fossilPatch(prev, next);
    expect(patch).not.toBeNull();
    expect(Buffer.from(applyDelta(Buffer.from(prev), Buffer.from(patch!))).toString()).toBe(next);
    expect(fossilPatch('{"a":1}', '{"b":2}')).toBeNull();
  });
});
