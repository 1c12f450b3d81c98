/**
 * A cross-process lock on a path: an exclusive `mkdir` of `<path>.lock`, with an owner record inside, a
 * heartbeat that keeps its mtime fresh while held, and stale-lock detection (the owner process is gone,
 * or the heartbeat stopped for longer than `staleMs`). Node only.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StoreLockTimeoutError } from '../errors.js';

export interface FileLockOptions {
  /** Give up after this long (ms). Default 30 000. */
  readonly timeoutMs?: number;
  /** A lock whose heartbeat is older than this (ms) is taken over. Default 10 000. */
  readonly staleMs?: number;
}

interface Owner {
  readonly pid: number;
  readonly host: string;
  readonly id: string;
}

/** Waiters inside this process queue on a promise instead of polling the file system. */
const localQueues = new Map<string, Promise<unknown>>();

/** Runs `work` holding the lock `<target>.lock`. */
export async function withFileLock<T>(target: string, work: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const previous = localQueues.get(target) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(async () => {
    const release = await acquire(`${target}.lock`, options);
    try {
      return await work();
    } finally {
      await release();
    }
  });
  const settled = run.catch(() => undefined);
  localQueues.set(target, settled);
  void settled.then(() => {
    if (localQueues.get(target) === settled) localQueues.delete(target);
  });
  return run;
}

async function acquire(lockPath: string, options: FileLockOptions): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 10_000;
  const owner: Owner = { pid: process.pid, host: os.hostname(), id: randomBytes(8).toString('hex') };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fs.mkdir(lockPath, { mode: 0o700 });
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        await fs.mkdir(path.dirname(lockPath), { recursive: true, mode: 0o700 });
        continue;
      }
      if (code !== 'EEXIST') throw error;
    }
    if (await isStale(lockPath, staleMs)) {
      await removeStale(lockPath);
      continue;
    }
    if (Date.now() >= deadline) throw new StoreLockTimeoutError(lockPath, timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 30));
  }
  await fs.writeFile(`${lockPath}/owner`, JSON.stringify(owner), { mode: 0o600 });
  const heartbeat = setInterval(() => {
    const now = new Date();
    fs.utimes(lockPath, now, now).catch(() => undefined);
  }, Math.max(100, Math.floor(staleMs / 3)));
  heartbeat.unref();
  return async () => {
    clearInterval(heartbeat);
    const current = await readOwner(lockPath);
    // Only remove the lock if it is still ours (it may have been taken over as stale).
    if (current === null || current.id === owner.id) await fs.rm(lockPath, { recursive: true, force: true });
  };
}

async function readOwner(lockPath: string): Promise<Owner | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(`${lockPath}/owner`, 'utf8')) as Partial<Owner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.id === 'string') return parsed as Owner;
    return null;
  } catch {
    return null;
  }
}

/** Whether a process with this id exists on this machine. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(lockPath: string, staleMs: number): Promise<boolean> {
  let mtime: number;
  try {
    mtime = (await fs.stat(lockPath)).mtimeMs;
  } catch {
    return false; // gone already: the next mkdir will tell
  }
  if (Date.now() - mtime > staleMs) return true;
  const owner = await readOwner(lockPath);
  return owner !== null && owner.host === os.hostname() && owner.pid !== process.pid && !processAlive(owner.pid);
}

async function removeStale(lockPath: string): Promise<void> {
  // Rename first (atomic), so two processes that both saw the stale lock do not both delete a new one.
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(lockPath, aside);
  } catch {
    return;
  }
  await fs.rm(aside, { recursive: true, force: true });
}
