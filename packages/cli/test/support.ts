import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { LATCHKEY_BIN, spawnNode } from '../../../test-support/processes.js';

/** A throw-away home directory for the `latchkey` command: its data, config and session file. */
export interface Home {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly sessionFile: string;
}

/**
 * Returns a maker of throw-away homes named `<prefix>…` in the temp folder, all removed after the
 * test file. Call it at the top of a test file.
 */
export function homes(prefix: string): () => Promise<Home> {
  const scratch: string[] = [];
  afterAll(async () => {
    await Promise.all(scratch.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    scratch.push(dir);
    return {
      dir,
      env: { XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config'), HOME: dir, NO_COLOR: '1', LATCHKEY_URL: '' },
      sessionFile: path.join(dir, 'data', 'latchkey', 'session.json'),
    };
  };
}

/** Runs `latchkey …` in `home` to completion; `input` is written to stdin. `ms` is the wall time. */
export async function latchkey(home: Home, args: readonly string[], input = '', env: Record<string, string> = {}) {
  const started = performance.now();
  const proc = spawnNode(LATCHKEY_BIN, args, { ...home.env, ...env });
  proc.child.stdin?.end(input);
  let stdout = '';
  proc.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await proc.exited;
  return { code, stdout, output: proc.output(), ms: performance.now() - started };
}
