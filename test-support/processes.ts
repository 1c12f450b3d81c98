import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The `latchkey` command of this checkout, run from the TypeScript sources (no build between an edit
 * and a test). The published bin, which runs the compiled dist/, is exercised by the consumer test.
 */
export const LATCHKEY_BIN = fileURLToPath(new URL('./latchkey-dev.js', import.meta.url));

/** The root tsconfig.json: its `paths` make tsx resolve the workspace packages to their sources. */
const TSCONFIG = fileURLToPath(new URL('../tsconfig.json', import.meta.url));

export interface Spawned {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  /** Resolves with the first match of `pattern` in the output, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** Children still running; killed when the test process exits, so a timed-out test leaves none behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Runs a Node program (a `.js` or, through tsx, a `.ts` file) with arguments and extra environment. */
export function spawnNode(script: string, args: readonly string[], env: Record<string, string | undefined> = {}): Spawned {
  const tsx = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...tsx, script, ...args], {
    env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG, LOG_LEVEL: 'warn', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  running.add(child);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? -1);
    });
  });
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = text.match(pattern);
          if (match) {
            listeners.delete(check);
            clearTimeout(timer);
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${pattern} in:\n${text}`));
        }, timeoutMs);
        listeners.add(check);
        check();
        void exited.then(() => setTimeout(() => {
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(timer);
            reject(new Error(`process exited before ${pattern} appeared:\n${text}`));
          }
        }, 50));
      });
    },
  };
}

/** Runs `latchkey <args>` to its end; answers its exit code and everything it printed. */
export async function runLatchkey(args: readonly string[], env: Record<string, string>): Promise<{ code: number | string; output: string }> {
  const proc = spawnNode(LATCHKEY_BIN, args, env);
  const code = await proc.exited;
  return { code, output: proc.output() };
}
