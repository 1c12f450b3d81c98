import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from '../src/index.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('logger', () => {
  it('never writes credentials', () => {
    const { stream, lines } = capture();
    const logger = createLogger('info', stream);
    logger.info({ req: { headers: { authorization: 'Bearer abc.def.ghi', cookie: 'sb=1' } }, body: { password: 'hunter2', refresh_token: 'r1' }, password: 'p' }, 'x');
    const text = JSON.stringify(lines());
    for (const secret of ['abc.def.ghi', 'sb=1', 'hunter2', '"r1"', '"p"']) expect(text).not.toContain(secret);
  });

  it('redacts token-bearing query parameters', () => {
    expect(redactUrl('/auth/v1/verify?token=123456&type=signup')).toBe('/auth/v1/verify?token=%5BRedacted%5D&type=signup');
    expect(redactUrl('/health')).toBe('/health');
  });
});
