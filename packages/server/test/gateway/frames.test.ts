import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { sharedFrame, wsFrame } from '../../src/gateway/session/frames.js';

/** The `ws` library's frame parser (exported by the package, not described by its type declarations). */
interface FrameReader {
  on(event: 'message', listener: (data: Buffer, binary: boolean) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  write(chunk: Buffer): void;
}
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: new (options: { isServer: boolean }) => FrameReader };

/** Reads frames back with the `ws` library's own client-side receiver. */
function read(frame: Buffer): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false });
    receiver.on('message', (data: Buffer, binary: boolean) => resolve({ data, binary }));
    receiver.on('error', reject);
    receiver.write(frame);
  });
}

describe('whole WebSocket frames', () => {
  it.each([0, 1, 125, 126, 65_535, 65_536, 200_000])('frames a %i-byte payload the way a client reads it, text and binary', async (size) => {
    const payload = Buffer.alloc(size, 0x61);
    const text = await read(wsFrame(payload, false));
    expect(text.binary).toBe(false);
    expect(text.data.equals(payload)).toBe(true);
    const binary = await read(wsFrame(payload, true));
    expect(binary.binary).toBe(true);
    expect(binary.data.equals(payload)).toBe(true);
  });

  it('builds a frame shared by many connections once, and again for another payload or opcode', () => {
    const payload = Buffer.from('{"push":{}}');
    const first = sharedFrame(payload, false);
    expect(sharedFrame(payload, false)).toBe(first);
    expect(sharedFrame(payload, true)).not.toBe(first);
    expect(sharedFrame(Buffer.from('{"push":{}}'), false)).not.toBe(first);
  });
});
