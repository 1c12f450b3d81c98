import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeCommands, MalformedFrameError } from '../../src/gateway/protocol/codec.js';
import { DEFAULT_MAX_JSON_DEPTH, findUnsafeValue, scanJsonText } from '../../src/input/index.js';
import { describeEachDatabase } from '../../../../test-support/databases.js';
import { deepJson, jsonValue, text, toJsonText } from './arbitraries.js';
import { startTarget, type Target } from './support.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SOCKET_RUNS = Math.max(20, Math.round(RUNS / 5));

const KINDS = ['connect', 'subscribe', 'unsubscribe', 'publish', 'presence', 'presence_stats', 'history', 'ping', 'send', 'rpc', 'refresh', 'sub_refresh'] as const;

/** One protocol command as text: real kinds and fields, generated values. */
const command: fc.Arbitrary<string> = fc
  .record({
    id: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 2, max: 1000 }) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 4294967296, '\u0001raw:1e400', 'x', null) }),
    // A connect is sent first; another one closes the connection, so it is rare here.
    kind: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...KINDS.filter((kind) => kind !== 'connect')) }, { weight: 1, arbitrary: fc.constant('connect' as const) }),
    channel: fc.oneof({ weight: 2, arbitrary: fc.constantFrom('news', 'org:{{organization}}', 'personal:#x', '') }, { weight: 1, arbitrary: text }),
    method: fc.oneof(fc.constantFrom('query.note.list', 'command.note.create'), text),
    data: fc.oneof(jsonValue, fc.record({ title: text, body: text }), fc.record({ limit: fc.oneof(fc.integer(), fc.constant('\u0001raw:1e400')) })),
    token: fc.constantFrom('{{userToken}}', 'a.b.c', ''),
  })
  .map(({ id, kind, channel, method, data, token }) => toJsonText({ id, [kind]: kind === 'rpc' ? { method, data } : { channel, data, token } }));

/** Frames: commands (one or several), deep nesting, broken JSON, any text. */
const frame: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.array(command, { minLength: 1, maxLength: 3 }).map((lines) => lines.join('\n')) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 50_000 }).map((depth) => deepJson(depth)) },
  { weight: 1, arbitrary: jsonValue.map(toJsonText) },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }) },
  { weight: 1, arbitrary: fc.constantFrom('{}', '{"id":1}', '{"id":1,"rpc":[]}', '\n\n', '{"id":1,"connect":{"token":"\\ud800"}}', '{"id":1,"connect":{"\\u0000":1}}') },
);

describe('gateway codec', () => {
  it('decodes a frame or throws MalformedFrameError; what it decodes holds nothing the input guard refuses', () => {
    fc.assert(
      fc.property(frame, (text) => {
        let commands;
        try {
          commands = decodeCommands(text);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedFrameError);
          return;
        }
        for (const { command } of commands) {
          expect(findUnsafeValue(command, DEFAULT_MAX_JSON_DEPTH) ?? 'ok').toMatch(/^(ok|non_finite_number)$/);
          expect(() => JSON.stringify(command)).not.toThrow();
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('the text scan and the parsed-value check agree on strings, keys and depth', () => {
    fc.assert(
      fc.property(fc.oneof(jsonValue.map(toJsonText), fc.integer({ min: 1, max: 200 }).map((depth) => deepJson(depth))), (json) => {
        const fromText = scanJsonText(json, DEFAULT_MAX_JSON_DEPTH);
        // The scan leaves numbers to the parsed-value check: compare with out-of-range numbers made finite.
        const finite = JSON.parse(json, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? 0 : value)) as unknown;
        expect(fromText).toBe(findUnsafeValue(finite, DEFAULT_MAX_JSON_DEPTH));
      }),
      { numRuns: RUNS * 3 },
    );
  });
});

describeEachDatabase('gateway connections under generated frames', (database) => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget(database());
  });
  afterAll(async () => target?.close());

  /** Connects, sends the frame, and reports how the connection ended (0: still open after a short wait). */
  async function exchange(frameText: string): Promise<number> {
    const ws = new WebSocket(`${target.server.url.replace('http', 'ws')}/connection/websocket`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => {
      ws.once('close', (code) => resolve(code));
      ws.once('message', () => setTimeout(() => resolve(0), 50));
      setTimeout(() => resolve(0), 1500).unref();
    });
    ws.send(`${JSON.stringify({ id: 1, connect: { token: target.fixture.userToken } })}\n${target.resolve(frameText)}`);
    const code = await closed;
    ws.terminate();
    return code;
  }

  it('never closes a connection with an internal error and stays healthy', async () => {
    await fc.assert(
      fc.asyncProperty(frame, async (frameText) => {
        const code = await exchange(frameText);
        // 3004 internal error, 1011 unexpected condition, 1006 dropped without a close frame.
        expect([3004, 1011, 1006], frameText.slice(0, 300)).not.toContain(code);
      }),
      { numRuns: SOCKET_RUNS },
    );
    expect((await target.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  }, 120_000);
});
